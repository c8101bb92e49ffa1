"""GAN-trained neural vocoders: generators, discriminators and their losses (ESPnet2's ``gan_tts``)."""
