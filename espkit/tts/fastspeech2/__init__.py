"""FastSpeech2 (Ren et al., 2021): FastSpeech with token-level pitch and energy predictors."""
