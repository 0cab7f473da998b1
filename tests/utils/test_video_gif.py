"""utils/video.py: a GIF grid has one frame per clip frame, each the grid of that frame."""

import numpy as np
from PIL import Image

from gen_jax.utils.video import clip_grid_frames, save_gif


def test_gif_frames_are_grids_of_the_clips(tmp_path):
    clips = np.zeros((3, 4, 5, 5, 1), np.uint8)
    for t in range(4):
        clips[:, t] = 60 * t
    frames = clip_grid_frames(clips, ncols=3)
    assert frames.shape == (4, 7, 19, 1)
    assert frames[2, 1, 1, 0] == 120
    path = save_gif(str(tmp_path / "a.gif"), clips, ncols=3)
    with Image.open(path) as im:
        assert im.n_frames == 4
        im.seek(3)
        assert im.size[0] >= 256
