"""Network building blocks shared by several models (masks, Transformer layers)."""
