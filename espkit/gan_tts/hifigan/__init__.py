"""HiFi-GAN generator, discriminators and losses (ESPnet2's ``espnet2.gan_tts.hifigan``)."""

from espkit.gan_tts.hifigan.hifigan import (
    HiFiGANGenerator,
    HiFiGANMultiPeriodDiscriminator,
    HiFiGANMultiScaleDiscriminator,
    HiFiGANMultiScaleMultiPeriodDiscriminator,
    HiFiGANPeriodDiscriminator,
    HiFiGANScaleDiscriminator,
)
from espkit.gan_tts.hifigan.loss import (
    DiscriminatorAdversarialLoss,
    FeatureMatchLoss,
    GeneratorAdversarialLoss,
    MelSpectrogramLoss,
)

__all__ = [
    "DiscriminatorAdversarialLoss",
    "FeatureMatchLoss",
    "GeneratorAdversarialLoss",
    "HiFiGANGenerator",
    "HiFiGANMultiPeriodDiscriminator",
    "HiFiGANMultiScaleDiscriminator",
    "HiFiGANMultiScaleMultiPeriodDiscriminator",
    "HiFiGANPeriodDiscriminator",
    "HiFiGANScaleDiscriminator",
    "MelSpectrogramLoss",
]
