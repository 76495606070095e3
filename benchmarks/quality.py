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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="lama_tiny")
    parser.add_argument("--data", required=True, help="folder of photos (e.g. the val split of ../shared/data)")
    parser.add_argument("--out", default="benchmarks/results/quality")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--settings", nargs="+", default=["thin", "medium", "thick"])
    parser.add_argument("--baselines", nargs="+", default=["telea", "navier_stokes", "biharmonic"])
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--working-size", type=int, default=None,
                        help="the model inpaints larger images at this longer side (Inpainter.inpaint(working_size=))")
    parser.add_argument("--blend", choices=["poisson"], default=None,
                        help="blend the model's fill into the photo (Inpainter.inpaint(blend=))")
    args = parser.parse_args(argv)

    from keras_inpaint.evaluation import evaluate, markdown_table, save_result

    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, os.path.basename(os.path.normpath(args.preset)))
    if args.working_size:
        stem += f"_working{args.working_size}"
    if args.blend:
        stem += f"_{args.blend}"
    result = evaluate(args.preset, args.data, settings=args.settings, sizes=args.sizes, baselines=args.baselines,
                      seed=args.seed, max_images=args.max_images, contact_sheet=f"{stem}_contact_sheet.png",
                      working_size=args.working_size, blend=args.blend)
    result["machine"] = {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()}
    table = markdown_table(result)
    save_result(result, f"{stem}.json")
    with open(f"{stem}.md", "w", encoding="utf-8") as f:
        working = f", the model at working size {args.working_size}" if args.working_size else ""
        working += f", {args.blend} blending" if args.blend else ""
        f.write(f"Preset `{args.preset}` on {result['images']} photos of `{args.data}`, seed {args.seed}{working}.\n\n"
                f"{table}\n")
    print(table)
    return result


if __name__ == "__main__":
    main()
