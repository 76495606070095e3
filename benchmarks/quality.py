"""Inpainting quality of a preset against classical baselines (PSNR / SSIM / L1, whole image and hole).

    python -m benchmarks.quality --preset lama_tiny --data ~/photos/val --out benchmarks/results/quality

Writes ``<out>/<preset>.json`` (every photo's numbers and the means), ``<out>/<preset>.md`` (the
table) and ``<out>/<preset>_contact_sheet.png`` (masked / ours / baselines / original).
Needs the ``benchmarks`` extra: ``pip install "keras-inpaint[benchmarks]"``.
"""

from __future__ import annotations

import argparse
import os
import platform


def main(argv=None) -> dict:
    from keras_inpaint.cli import add_inference_arguments, inference_kwargs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="lama_tiny")
    parser.add_argument("--data", required=True, help="folder of photos (e.g. the val split of ../shared/data)")
    parser.add_argument("--out", default="benchmarks/results/quality")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--settings", nargs="+", default=["thin", "medium", "thick"])
    parser.add_argument("--baselines", nargs="+", default=["telea", "navier_stokes", "biharmonic"])
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    add_inference_arguments(parser)
    args = parser.parse_args(argv)

    from keras_inpaint.evaluation import evaluate, markdown_table, save_result

    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, os.path.basename(os.path.normpath(args.preset)))
    if args.working_size != "auto":  # not the preset's settings: a file of its own
        stem += f"_working{args.working_size}" if args.working_size else "_fullsize"
    if args.blend != "auto":
        stem += "_pasted" if args.blend == "none" else f"_{args.blend}"
    if args.hd_strategy is not None:
        stem += f"_{args.hd_strategy}"
    result = evaluate(args.preset, args.data, settings=args.settings, sizes=args.sizes, baselines=args.baselines,
                      seed=args.seed, max_images=args.max_images, contact_sheet=f"{stem}_contact_sheet.png",
                      **inference_kwargs(args))
    result["machine"] = {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()}
    table = markdown_table(result)
    save_result(result, f"{stem}.json")
    with open(f"{stem}.md", "w", encoding="utf-8") as f:
        working = f", the model at working size {result['working_size']}" if result["working_size"] else \
            ", the model at full size"
        working += f", {result['blend']} blending" if result["blend"] else ", its fill pasted"
        f.write(f"Preset `{args.preset}` on {result['images']} photos of `{args.data}`, seed {args.seed}{working}.\n\n"
                f"{table}\n")
    print(table)
    return result


if __name__ == "__main__":
    main()
