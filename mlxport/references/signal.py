"""References of the signal ops: ``convolve``, ``fft.stft`` and ``fft.istft``, in float64 or
complex128, after MLX's documented semantics (and torch.stft's, which MLX's follows)."""

from __future__ import annotations

import numpy as np

from . import reference

_PAD_MODES = {"reflect": "reflect", "constant": "constant", "edge": "edge"}


@reference("convolve")
def convolve(a, v, mode="full"):
    """np.convolve: it swaps ``a`` and ``v`` when ``v`` is longer, as MLX does."""
    return np.convolve(a, v, mode=mode)


def _window(window, n_fft: int, win_length: int | None) -> np.ndarray:
    """The window, rectangular by default, centred and zero-padded to ``n_fft``."""
    win_length = win_length or n_fft
    w = np.ones(win_length) if window is None else np.asarray(window)
    left = (n_fft - len(w)) // 2
    return np.pad(w, (left, n_fft - len(w) - left))


@reference("fft.stft")
def stft(x, n_fft=2048, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", norm="backward", onesided=None):
    """Frames of ``n_fft`` every ``hop_length`` samples of the last axis, windowed, transformed:
    shape ``(..., n_freq, n_frames)``."""
    hop = hop_length or n_fft // 4
    if center:
        widths = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        x = np.pad(x, widths, mode=_PAD_MODES[pad_mode])
    starts = range(0, x.shape[-1] - n_fft + 1, hop)
    frames = np.stack([x[..., s:s + n_fft] for s in starts], axis=-2) * _window(window, n_fft, win_length)
    onesided = not np.iscomplexobj(x) if onesided is None else onesided
    spectrum = np.fft.rfft(frames, norm=norm) if onesided else np.fft.fft(frames, norm=norm)
    return np.swapaxes(spectrum, -1, -2)


@reference("fft.istft")
def istft(stft_matrix, n_fft=None, hop_length=None, win_length=None, window=None, center=True,
          norm="backward", onesided=None, length=None):
    """Overlap-add of the windowed inverse transforms, divided by the overlap-added squared window."""
    onesided = True if onesided is None else onesided
    n_freq, n_frames = stft_matrix.shape[-2:]
    n_fft = n_fft or (2 * (n_freq - 1) if onesided else n_freq)
    hop = hop_length or n_fft // 4
    spectra = np.swapaxes(stft_matrix, -1, -2)
    frames = np.fft.irfft(spectra, n=n_fft, norm=norm) if onesided else np.fft.ifft(spectra, n=n_fft, norm=norm)
    w = _window(window, n_fft, win_length)
    size = n_fft + hop * (n_frames - 1)
    out = np.zeros(frames.shape[:-2] + (size,), dtype=frames.dtype)
    envelope = np.zeros(size)
    for i in range(n_frames):
        out[..., i * hop:i * hop + n_fft] += frames[..., i, :] * w
        envelope[i * hop:i * hop + n_fft] += w * w
    out = out / np.where(envelope > 1e-11, envelope, 1.0)
    start = n_fft // 2 if center else 0
    end = size - n_fft // 2 if center else size
    out = out[..., start:end]
    if length is not None:
        out = out[..., :length]
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
    return out
