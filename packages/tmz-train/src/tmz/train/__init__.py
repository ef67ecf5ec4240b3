"""tmz train: Fine-tune, evaluate and merge Gemma 3 translation models."""
