"""Solutions to the exercises of 04_three_wire_apis.ipynb, for after you have tried.

Each `# %% Exercise N.M` block is the answer cell of that exercise; it uses the names the notebook's
cells define. tests/notebook/test_exercise_checks.py runs the notebook with these blocks in place.
"""

# %% Exercise 4.1
schema_at = {
    "native": ["format"],
    "openai_chat": ["response_format", "json_schema", "schema"],
    "openai_responses": ["text", "format", "schema"],
}


# %% Exercise 4.2
def linked_call(body):
    """The tool's name (native) or the call's id (the OpenAI APIs) that the first tool result quotes."""
    result = tool_results(body)[0]
    for key in ("tool_name", "tool_call_id", "call_id"):
        if key in result:
            return result[key]
    return None
