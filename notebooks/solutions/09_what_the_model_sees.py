"""Solutions to the exercises of 09_what_the_model_sees.ipynb, for after you have tried.

Each `# %% Exercise N.M` block is the answer cell of that exercise; it uses the names the notebook's
cells define. tests/notebook/test_exercise_checks.py runs the notebook with these blocks in place.
"""

# %% Exercise 9.1
answer = min(range(len(reply_tokens)), key=lambda position: reply_tokens[position].probability)
