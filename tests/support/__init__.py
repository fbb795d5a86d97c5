"""Helpers the tests share: scripted servers, a shell runner, JupyterLab and Chromium drivers."""
