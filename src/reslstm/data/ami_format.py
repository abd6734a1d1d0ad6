"""What AMI's on-disk format fixes, for the real corpus and the mini corpus alike
(the split names are :data:`reslstm.layout.SPLITS`)."""

ANNOTATIONS = "ami_public_manual_1.6.2"  # the annotation directory (or zip) in a corpus dir
SAMPLE_RATE = 16000  # Hz, every AMI wav
# The audio files of each microphone condition (the rglob patterns lhotse's prepare_ami uses).
AUDIO_GLOBS = {
    "sdm": "*Array1-01.wav",
    "ihm": "*Headset-?.wav",
    "mdm": "*Array?-0?.wav",
}
