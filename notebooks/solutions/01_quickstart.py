"""Solutions to the exercises of 01_quickstart.ipynb, for after you have tried.

Each `# %% Exercise N.M` block is the answer cell of that exercise; it uses the names the notebook's
cells define. tests/notebook/test_exercise_checks.py runs the notebook with these blocks in place.
"""

# %% Exercise 1.1
answer, my_trace = ask.traced("Where is Lyon?", system="Answer like a pirate.", max_tokens=48)
print(answer)


# %% Exercise 1.2
class Country(BaseModel):
    name: str
    capital: str
    population_millions: float


ask("Describe Japan.", output=Country, max_tokens=64)
