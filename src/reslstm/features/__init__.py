"""Stage 1: kaldifeat fbank features stored with lilcom, and global CMVN statistics."""
