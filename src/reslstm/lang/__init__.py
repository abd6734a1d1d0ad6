"""Stage 2: the lang directory (tokens, lexicon, word n-gram LM) from the training text."""
