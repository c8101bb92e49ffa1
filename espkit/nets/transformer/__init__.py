"""Transformer blocks (ESPnet's names): positional encodings, attention, feed-forwards, encoder."""
