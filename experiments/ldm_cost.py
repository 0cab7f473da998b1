"""The cost of latent against pixel diffusion: XLA FLOPs and wall time per sample of the denoiser,
its DDIM sampler and the decoder (experiments/bench_ldm.py; no absl flags here, so tests and
notebooks can import it)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from experiments import bench_common as bc
from experiments import build
from experiments import sampling as sample_lib
from gen_jax.utils.cost import xla_flops


def denoiser_cost(objective, params, shape, batch: int, flops_steps: int, steps: int, repeats: int,
                  decode=None):
    """FLOPs and seconds per sample of one denoiser call and of DDIM sampling in `shape`, for a
    DiffusionObjective (pixel) or its latent counterpart (decode: latents -> images, counted
    apart). Returns a dict."""
    from gen_jax.samplers import ddim_sample

    x = jnp.zeros((batch, *shape))
    t = jnp.full((batch,), objective.schedule.num_timesteps // 2, jnp.int32)
    keys = sample_lib.sample_keys(0, 0, batch)
    call = lambda p, x, t: objective.denoiser(p)(x, t)[0]  # noqa: E731

    def sampler(p, x_T, keys, n, debug):
        return ddim_sample(objective.denoiser(p), objective.schedule, x_T, keys, n, 0.0,
                           clip_x0=decode is None, debug=debug)

    x_T = jax.random.normal(jax.random.PRNGKey(0), x.shape)
    out = {"shape": list(shape),
           "call_flops": xla_flops(call, params, x, t) / batch,
           "sampler_flops": xla_flops(lambda p, x, k: sampler(p, x, k, flops_steps, True),
                                      params, x_T, keys) / batch,
           "flops_steps": flops_steps}
    call_fn = jax.jit(call)
    out["call_s"] = sample_lib.time_call(call_fn, params, x, t, repeats=repeats) / batch
    loop = jax.jit(lambda p, x, k, n: sampler(p, x, k, n, False))
    out["sampler_s"] = sample_lib.time_call(loop, params, x_T, keys, jnp.int32(steps),
                                            repeats=repeats) / batch
    out["steps"] = steps
    out["decoder_flops"] = out["decoder_s"] = 0.0
    if decode is not None:
        out["decoder_flops"] = xla_flops(decode, x) / batch
        out["decoder_s"] = sample_lib.time_call(jax.jit(decode), x, repeats=repeats) / batch
    # a whole sample: the sampler's network calls (flops_steps counted, scaled to `steps`) + decoder
    out["sample_flops"] = out["sampler_flops"] * steps / flops_steps + out["decoder_flops"]
    out["sample_s"] = out["sampler_s"] + out["decoder_s"]
    # ~1 when the on-device loop costs its network calls and nothing more (and the timing is clean)
    out["sampler_over_calls"] = out["sampler_s"] / (steps * out["call_s"])
    return out


def fresh_cost(batch: int, flops_steps: int, steps: int, repeats: int, variant: str = "") -> dict:
    """The cost comparison of main() without trained workdirs: the U-Net of configs/ldm_cifar10.py
    on pixels and on the latents of configs/autoencoder_cifar10.py's autoencoder, and that
    autoencoder's decoder, all freshly initialised (cost does not depend on the weights)."""
    from experiments.configs import autoencoder_cifar10, ldm_cifar10

    c, c_ae = ldm_cifar10.get_config(variant), autoencoder_cifar10.get_config(variant)
    image_shape = {"cifar10": (32, 32, 3), "digits": (8, 8, 1)}[c.data.name]
    num_classes = 10
    ae = build.OBJECTIVES["autoencoder_kl"](c_ae, image_shape, None)
    ae_params = ae.init(jax.random.PRNGKey(1)).ema_params
    pixel = build.OBJECTIVES[c.objective.base](c, image_shape, num_classes)
    latent = build.OBJECTIVES[c.objective.base](c, ae.latent_shape, num_classes)
    res = {"pixel": denoiser_cost(pixel, pixel.init(jax.random.PRNGKey(0)).params, image_shape,
                                  batch, flops_steps, steps, repeats),
           "latent": denoiser_cost(latent, latent.init(jax.random.PRNGKey(0)).params,
                                   ae.latent_shape, batch, flops_steps, steps, repeats,
                                   decode=lambda z: ae.decode(ae_params, z))}
    res["meta"] = {"ldm_config": f"ldm_cifar10.py{':' + variant if variant else ''}",
                   "ae_config": f"autoencoder_cifar10.py{':' + variant if variant else ''}",
                   "weights": "freshly initialised", "data": c.data.name,
                   "factor": image_shape[0] // ae.latent_shape[0],
                   "latent_shape": list(ae.latent_shape), "batch_size": batch, "steps": steps,
                   "repeats": repeats, **bc.run_info(load=True)}
    return res


def cost_markdown(res) -> str:
    m = res["meta"]
    head = [f"Cost per sample, {m['ldm_config']} U-Net on {m['data']} pixels against the same "
            f"U-Net on the {'x'.join(map(str, m['latent_shape']))} latents of {m['ae_config']} "
            f"(f = {m['factor']}), weights {m['weights']}; DDIM {m['steps']} steps; batch "
            f"{m['batch_size']}, median of {m['repeats']} timed calls; hardware: {m['hardware']}.", ""]
    return "\n".join(head + _cost_rows(res, m["steps"])) + "\n"


def _cost_rows(res, steps) -> list[str]:
    rows = [{"space": name, **res[name]} for name in ("pixel", "latent")]
    g, ms = (lambda d: lambda v: f"{v / 1e9:.{d}f}"), (lambda d: lambda v: f"{1e3 * v:.{d}f}")  # noqa: E731
    lines = [bc.markdown_table(rows, [
        ("space", "space"), ("denoiser input", "shape", lambda s: "x".join(map(str, s))),
        ("GFLOPs / call", "call_flops", g(4)), ("GFLOPs / sample (sampler + decoder)", "sample_flops", g(3)),
        ("decoder GFLOPs", "decoder_flops", g(4)), ("ms / call", "call_s", ms(3)),
        ("ms / sample (sampler + decoder)", "sample_s", ms(2)),
        (f"sampler time / ({steps} × call time)", "sampler_over_calls", "{:.2f}")])]
    p, q = res["pixel"], res["latent"]
    lines += ["", f"Latent / pixel: {q['call_flops'] / p['call_flops']:.3f}× the FLOPs per denoiser call, "
              f"{q['sample_flops'] / p['sample_flops']:.3f}× per {steps}-step sample with the decoder; "
              f"{q['call_s'] / p['call_s']:.3f}× and {q['sample_s'] / p['sample_s']:.3f}× the time."]
    return lines
