"""One call, end to end: the conversation's rules, the drivers that run them, and text streams."""
