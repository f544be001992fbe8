"""Solutions to the exercises of 02_structured_outputs.ipynb, for after you have tried.

Each `# %% Exercise N.M` block is the answer cell of that exercise; it uses the names the notebook's
cells define. tests/notebook/test_exercise_checks.py runs the notebook with these blocks in place.
"""
# ruff: noqa: E402  (each block is a notebook cell, with its own imports)


# %% Exercise 2.1
class Review(BaseModel):
    sentiment: Literal["positive", "negative"]
    stars: int
    keywords: list[str]


ask("Review: 'Great coffee, slow service.'", output=Review, max_tokens=96)

# %% Exercise 2.2
from pydantic import Field


class CheckedCity(BaseModel):
    name: str
    country: str
    population_millions: float = Field(gt=0)
