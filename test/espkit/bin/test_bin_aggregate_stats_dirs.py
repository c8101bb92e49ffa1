import numpy as np
import pytest

from espkit.bin.aggregate_stats_dirs import main


def write_job(root, count, values, shape_lines):
    (root / "train").mkdir(parents=True)
    np.savez(
        root / "train" / "feats_stats.npz",
        count=np.array(count),
        sum=np.array(values),
        sum_square=np.array(values) ** 2,
    )
    (root / "train" / "speech_shape").write_text(shape_lines)


def test_sums_statistics_and_concatenates_shapes(tmp_path):
    write_job(tmp_path / "s1", 3, [1.0, 2.0], "a 10\n")
    write_job(tmp_path / "s2", 4, [3.0, 5.0], "b 20\n")
    main(
        [
            "--input_dir",
            str(tmp_path / "s1"),
            "--input_dir",
            str(tmp_path / "s2"),
            "--output_dir",
            str(tmp_path / "out"),
        ]
    )
    with np.load(tmp_path / "out" / "train" / "feats_stats.npz") as stats:
        assert int(stats["count"]) == 7
        np.testing.assert_allclose(stats["sum"], [4.0, 7.0])
        np.testing.assert_allclose(stats["sum_square"], [10.0, 29.0])
    assert (tmp_path / "out" / "train" / "speech_shape").read_text() == "a 10\nb 20\n"


def test_missing_input_dir_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--input_dir", str(tmp_path / "nope"), "--output_dir", str(tmp_path / "out")])
    assert "--input_dir not found" in capsys.readouterr().err
