"""The text rules: pure Python, no Django import."""
