"""Stage 3: CTC training of the LSTM stacks (lhotse batches, TensorBoard, resume, DDP)."""
