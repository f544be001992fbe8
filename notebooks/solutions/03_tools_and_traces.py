"""Solutions to the exercises of 03_tools_and_traces.ipynb, for after you have tried.

Each `# %% Exercise N.M` block is the answer cell of that exercise; it uses the names the notebook's
cells define. tests/notebook/test_exercise_checks.py runs the notebook with these blocks in place.
"""


# %% Exercise 3.1
@tool
def to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
    return celsius * 9 / 5 + 32


# %% Exercise 3.2
for number, request in enumerate(scripted_trace.requests):
    print(number, request.body["messages"][-1])

request_number = 2  # the first request whose messages hold the tool message for apply_discount
quoted_id = scripted_trace.requests[2].body["messages"][-1]["tool_call_id"]
