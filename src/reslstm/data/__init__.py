"""Stage 0: corpora (real AMI or the synthetic mini corpus) to validated lhotse cut manifests."""
