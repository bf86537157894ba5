"""Reference of ``fast.gated_delta_update``: the gated delta rule, one step at a time, in float64.

MLX's kernels compute it in chunks (a closed form over C steps); the recurrence here is the
definition they are equal to. Per head h (value head h reads key head h // (Hv / Hk)):

    S_t = g_t * S_{t-1};  delta_t = beta_t * (v_t - S_t^T k_t);  S_t += k_t delta_t^T;  y_t = S_t^T q_t

with the state S of shape (Dk, Dv), returned as MLX lays it out: (B, Hv, Dv, Dk).
"""

from __future__ import annotations

import numpy as np

from . import reference


@reference("fast.gated_delta_update")
def gated_delta_update(q, k, v, gamma, beta, initial_state=None, mask=None):
    """``(y [B, T, Hv, Dv], final state [B, Hv, Dv, Dk])``; ``mask`` is not modelled."""
    if mask is not None:
        raise NotImplementedError("fast.gated_delta_update: the reference does not model mask")
    batch, steps, hk, dk = k.shape
    hv, dv = v.shape[2:]
    q, k = (np.repeat(t, hv // hk, axis=2) for t in (q, k))
    state = np.zeros((batch, hv, dk, dv)) if initial_state is None else np.swapaxes(initial_state, -1, -2)
    y = np.zeros(v.shape, dtype=np.result_type(v, state))
    for t in range(steps):
        state = state * gamma[:, t, :, None, None]
        delta = (v[:, t] - np.einsum("bhk,bhkv->bhv", k[:, t], state)) * beta[:, t, :, None]
        state = state + np.einsum("bhk,bhv->bhkv", k[:, t], delta)
        y[:, t] = np.einsum("bhk,bhkv->bhv", q[:, t], state)
    return y, np.swapaxes(state, -1, -2)
