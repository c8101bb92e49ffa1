"""A tiny task used to test AbsTask's option handling without the TTS model."""

from __future__ import annotations

import torch
from typeguard import typechecked

from espkit.tasks.abs_task import AbsTask
from espkit.train.class_choices import ClassChoices
from espkit.train.collate_fn import CommonCollateFn
from espkit.utils.types import int_or_none


class AbsToyModel(torch.nn.Module):
    pass


class ToyLinear(AbsToyModel):
    @typechecked
    def __init__(self, idim: int, hidden: int = 4, bias: bool = True, dropout_rate: float = 0.0):
        super().__init__()
        self.layer = torch.nn.Linear(idim, hidden, bias=bias)
        self.dropout = torch.nn.Dropout(dropout_rate)

    def forward(self, x, x_lengths=None, y=None, y_lengths=None):
        out = self.dropout(self.layer(x)).mean()
        loss = (out - 1.0) ** 2
        return loss, {"loss": loss.detach()}, torch.tensor(x.shape[0])


class ToyMLP(AbsToyModel):
    @typechecked
    def __init__(self, idim: int, layers: int = 2, units: tuple = (8, 8)):
        super().__init__()
        self.net = torch.nn.Sequential(
            *[torch.nn.Linear(idim if i == 0 else units[i - 1], units[i]) for i in range(layers)]
        )


class NotAModel:
    pass


model_choices = ClassChoices("model", {"linear": ToyLinear, "mlp": ToyMLP}, type_check=AbsToyModel, default="linear")


class ToyTask(AbsTask):
    class_choices_list = [model_choices]
    task_supplied_args = {**AbsTask.task_supplied_args, "model": ("idim",)}

    @classmethod
    def add_task_arguments(cls, parser):
        group = parser.add_argument_group("task related")
        group.add_argument("--idim", type=int_or_none, default=3, help="input size")
        for choices in cls.class_choices_list:
            choices.add_arguments(group)

    @classmethod
    def build_model(cls, args):
        return model_choices.build(args.model, args.model_conf, idim=args.idim)

    @classmethod
    def required_data_names(cls, train=True, inference=False):
        return ("x",)

    @classmethod
    def optional_data_names(cls, train=True, inference=False):
        return ("y",)

    @classmethod
    def build_preprocess_fn(cls, args, train):
        return None

    @classmethod
    def build_collate_fn(cls, args, train):
        return CommonCollateFn()
