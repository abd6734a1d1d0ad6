"""reslstm: plain, highway and residual LSTM stacks for distant speech recognition."""

__version__ = "0.1.0"
