"""Scoring of transcripts against references: normalisation, WER/CER with jiwer, reports."""

from reslstm.scoring.normalize import normalize
from reslstm.scoring.report import write_reports
from reslstm.scoring.wer import ErrorCounts, Scores, UttScore, score

__all__ = ["ErrorCounts", "Scores", "UttScore", "normalize", "score", "write_reports"]
