"""CTC decoding: greedy search and lexicon-constrained beam search with a word n-gram LM."""
