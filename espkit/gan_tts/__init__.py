"""Models trained adversarially (ESPnet2's ``gan_tts``): neural vocoders, their discriminators and losses."""
