"""Notebook layer: magics, widgets and rendering; everything that imports IPython or ipywidgets."""
