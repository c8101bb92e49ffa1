"""FastSpeech (Ren et al., 2019): a feed-forward Transformer TTS with a duration predictor."""
