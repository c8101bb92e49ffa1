import pytest
import torch
from torch.nn import functional as F

from espkit.tts.emotion.emo_classifier import IGNORE_ID, EmotionClassifier, LinearEmotionClassifier


def clusters(num_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """4 Gaussian clusters in 6-D around well separated centres."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[2.0, 0, 0, 0, 1, 0], [0, 2.0, 0, 0, 0, 1], [0, 0, 2.0, 0, -1, 0], [0, 0, 0, 2.0, 0, -1]])
    labels = torch.arange(4).repeat_interleave(num_per_class)
    embeds = centres[labels] + 0.5 * torch.randn(len(labels), 6, generator=gen)
    return embeds, labels


@pytest.mark.parametrize("hidden_units", [0, 16])
def test_learns_four_clusters(hidden_units):
    torch.manual_seed(0)
    classifier = EmotionClassifier(6, 4, hidden_units=hidden_units, dropout_rate=0.1)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=0.05)
    train_x, train_y = clusters(32, seed=0)
    classifier.train()
    for _ in range(200):
        optimizer.zero_grad()
        _, loss, _ = classifier(train_x, train_y)
        loss.backward()
        optimizer.step()
    test_x, test_y = clusters(50, seed=1)
    posterior = classifier.predict(test_x)
    accuracy = (posterior.argmax(-1) == test_y).float().mean()
    assert accuracy > 0.9
    classifier.eval()
    _, _, stats = classifier(test_x, test_y)
    torch.testing.assert_close(stats["emo_acc"], accuracy)


def test_forward_loss_stats_and_weight():
    torch.manual_seed(0)
    classifier = EmotionClassifier(5, 3, hidden_units=0, loss_weight=2.5, label_smoothing=0.1)
    embeds = torch.randn(4, 5)
    labels = torch.tensor([0, 2, 1, 2])
    logits, loss, stats = classifier(embeds, labels)
    assert logits.shape == (4, 3)
    expected = F.cross_entropy(logits, labels, label_smoothing=0.1)
    torch.testing.assert_close(stats["emo_ce_loss"], expected.detach())
    torch.testing.assert_close(loss, 2.5 * expected)
    expected_acc = (logits.argmax(-1) == labels).float().mean()
    torch.testing.assert_close(stats["emo_acc"], expected_acc)
    assert not stats["emo_ce_loss"].requires_grad


def test_no_labels_and_unlabelled_items():
    torch.manual_seed(0)
    classifier = EmotionClassifier(5, 3)
    embeds = torch.randn(4, 5)
    logits, loss, stats = classifier(embeds)
    assert logits.shape == (4, 3) and loss is None and stats == {}

    classifier.eval()
    labels = torch.tensor([IGNORE_ID, 1, IGNORE_ID, 0])
    logits, loss, stats = classifier(embeds, labels)
    torch.testing.assert_close(loss, F.cross_entropy(logits[[1, 3]], labels[[1, 3]]))
    torch.testing.assert_close(stats["emo_acc"], (logits[[1, 3]].argmax(-1) == labels[[1, 3]]).float().mean())

    _, loss, stats = classifier(embeds, torch.full((4,), IGNORE_ID))
    assert loss.item() == 0.0 and loss.requires_grad
    assert stats == {"emo_ce_loss": None, "emo_acc": None}


def test_gradients_reach_parameters():
    classifier = EmotionClassifier(6, 4, hidden_units=8, dropout_rate=0.0)
    embeds = torch.randn(5, 6, requires_grad=True)
    _, loss, _ = classifier(embeds, torch.tensor([0, 1, 2, 3, 0]))
    loss.backward()
    for name, param in classifier.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert embeds.grad.abs().sum() > 0


def test_predict_is_eval_and_no_grad():
    torch.manual_seed(0)
    classifier = EmotionClassifier(6, 4, hidden_units=32, dropout_rate=0.9)
    classifier.train()
    embeds = torch.randn(3, 6)
    first = classifier.predict(embeds)
    second = classifier.predict(embeds)
    torch.testing.assert_close(first, second)  # no dropout
    torch.testing.assert_close(first.sum(-1), torch.ones(3))
    assert not first.requires_grad
    assert classifier.training  # mode restored


def test_errors():
    with pytest.raises(ValueError, match="num_emotions >= 2"):
        EmotionClassifier(4, 1)
    with pytest.raises(ValueError, match="hidden_units"):
        EmotionClassifier(4, 3, hidden_units=-1)
    classifier = EmotionClassifier(4, 3)
    with pytest.raises(ValueError, match=r"emo_embed must be \(B, 4\)"):
        classifier(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"\[0, 3\) or -1"):
        classifier(torch.zeros(2, 4), torch.tensor([0, 3]))


def test_linear_classifier_has_no_hidden_layer():
    classifier = LinearEmotionClassifier(6, 4, loss_weight=2.0)
    assert isinstance(classifier.net, torch.nn.Linear) and classifier.loss_weight == 2.0
    assert classifier.state_dict().keys() == EmotionClassifier(6, 4, hidden_units=0).state_dict().keys()
    embeds = torch.randn(3, 6)
    torch.testing.assert_close(classifier(embeds)[0], embeds @ classifier.net.weight.T + classifier.net.bias)
    with pytest.raises(TypeError):
        LinearEmotionClassifier(6, 4, hidden_units=8)
