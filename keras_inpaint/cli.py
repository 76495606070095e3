"""The ``keras-inpaint`` command line.

Exit codes: 0 success, 2 usage error, 1 failure (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

from keras_inpaint.convert import CONVERTERS, convert_checkpoint
from keras_inpaint.evaluation import BASELINES, evaluate
from keras_inpaint.masks import MASK_SETTINGS, MIXED
from keras_inpaint.models.inpainting_gan import DISCRIMINATOR_TERMS, GENERATOR_TERMS, InpaintingGAN
from keras_inpaint import training
from keras_inpaint.training import LR_SCHEDULES

SAMPLE_PHOTO = os.path.join(os.path.dirname(__file__), "assets", "chelsea.jpg")
DEFAULT_PRESET = "lama_tiny"
# `train` exposes every weighted loss term of InpaintingGAN as --<weight-argument>.
LOSS_WEIGHT_FLAGS = {term.weight: term.help for term in GENERATOR_TERMS + DISCRIMINATOR_TERMS if term.weight}


def defaults_of(function) -> dict:
    """A library function's keyword defaults: the CLI's defaults are the library's."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


TRAIN_DEFAULTS = defaults_of(training.train)
EVALUATE_DEFAULTS = defaults_of(evaluate)
GAN_DEFAULTS = defaults_of(InpaintingGAN)


class UserError(Exception):
    """A problem with what the user asked for: reported in one line, exit code 1."""


def _save_png(array, path: str) -> None:
    from PIL import Image

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UserError(f"output directory {directory} does not exist.")
    if not os.access(directory, os.W_OK):
        raise UserError(f"output directory {directory} is not writable.")
    # Write beside the target and rename: a failed write (read-only file system, full disk)
    # leaves no half file and never damages a file already at ``path``.
    extension = os.path.splitext(path)[1].lower()
    image_format = Image.registered_extensions().get(extension, "PNG")
    partial = f"{path}.partial"
    try:
        Image.fromarray(array).save(partial, format=image_format)
        os.replace(partial, path)
    except OSError as e:
        if os.path.exists(partial):
            os.remove(partial)
        raise UserError(f"cannot write {path}: {e.strerror or e}.") from None


def _load_mask(path: str, shape):
    import numpy as np

    from keras_inpaint.data import load_rgb

    mask = load_rgb(path)[..., 0] > 127
    if mask.shape != shape[:2]:
        raise UserError(f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but the image is {shape[1]}x{shape[0]}.")
    return mask.astype(np.uint8)


def _working_size_argument(text: str):
    """``--working-size``: "auto" (the preset's), 0 (full size) or a positive number of pixels."""
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto, 0 or a number of pixels; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected auto, 0 or a number of pixels; got {text!r}")
    return value or None


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """``--working-size``, ``--blend``, ``--hd-strategy`` and ``--max-memory-gb``, shared by ``inpaint``,
    ``evaluate`` and benchmarks/quality.py."""
    parser.add_argument("--working-size", type=_working_size_argument, default="auto", metavar="PIXELS",
                        help="inpaint larger images at this longer side and enlarge the fill; 0: full size "
                             "(default auto: the preset's setting)")
    parser.add_argument("--blend", choices=["auto", "poisson", "none"], default="auto",
                        help="poisson: blend the fill into the photo; none: paste it (default auto: the preset's)")
    parser.add_argument("--hd-strategy", choices=["auto", "crop", "resize", "original"], default=None,
                        help="large photos: crop a box around each hole (memory bounded by the holes), resize the "
                             "whole photo to the working size, or keep the original size; auto: crop above "
                             "2 megapixels (default: the preset's setting)")
    def gigabytes(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value >= 0:
            raise argparse.ArgumentTypeError(f"expected 0 or a positive number of GB; got {text!r}")
        return value

    parser.add_argument("--max-memory-gb", type=gigabytes, default=None, metavar="GB",
                        help="refuse a photo whose estimated peak memory exceeds this; 0: no check "
                             "(default: the memory available)")


def inference_kwargs(args) -> dict:
    """``Inpainter.inpaint`` keyword arguments from :func:`add_inference_arguments`' options."""
    limit = getattr(args, "max_memory_gb", None)
    return {"working_size": args.working_size, "blend": None if args.blend == "none" else args.blend,
            "hd_strategy": getattr(args, "hd_strategy", None),
            "max_memory_gb": "auto" if limit is None else (limit or None)}


def _inpaint_one(model, path, mask_path, auto_mask, seed, output, grid_picture, inference=None):
    import numpy as np

    from keras_inpaint.data import load_rgb
    from keras_inpaint.masks import random_mask
    from keras_inpaint.visualize import before_mask_after

    try:
        image = load_rgb(path)
    except OSError as e:
        raise UserError(f"cannot read image {path}: {e}") from e
    if mask_path is not None:
        mask = _load_mask(mask_path, image.shape)
    else:
        mask = random_mask(image.shape[0], image.shape[1], auto_mask, seed=seed).astype(np.uint8)
    result = model.inpaint(image, mask, **(inference or {}))
    _save_png(before_mask_after(image, mask, result) if grid_picture else result, output)
    return image.shape, float(mask.mean())


def cmd_inpaint(args) -> None:
    from keras_inpaint import Inpainter
    from keras_inpaint.data import list_images

    if args.mask is None and args.auto_mask is None:
        raise UserError("give --mask MASK.png or --auto-mask thin|medium|thick.")
    source = args.image or SAMPLE_PHOTO
    if os.path.isdir(source):
        # A folder: every image inside, results under --output with the same relative names (.png).
        jobs = []
        for path in list_images(source):
            relative = os.path.splitext(os.path.relpath(path, source))[0] + ".png"
            mask_path = None if args.mask is None else os.path.join(args.mask, relative)
            if mask_path is not None and not os.path.exists(mask_path):
                raise UserError(f"no mask {mask_path} for {path} (--mask must be a folder of same-named PNGs).")
            jobs.append((path, mask_path, os.path.join(args.output, relative)))
        clashes = [out for _, _, out in jobs if os.path.exists(out)]
        if clashes:
            raise UserError(f"{clashes[0]} exists (and {len(clashes) - 1} more); nothing is overwritten.")
    else:
        if os.path.exists(args.output) and os.path.isdir(args.output):
            raise UserError(f"{args.output} is a folder; give a PNG path for one image.")
        jobs = [(source, args.mask, args.output)]
    model = Inpainter.from_preset(args.preset)
    for index, (path, mask_path, output) in enumerate(jobs):
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        shape, ratio = _inpaint_one(model, path, mask_path, args.auto_mask, args.seed + index, output, args.grid,
                                    inference_kwargs(args))
        print(f"wrote {output} ({shape[1]}x{shape[0]}, {100 * ratio:.1f}% hole, preset {args.preset})")


def cmd_presets(args) -> None:
    from keras_inpaint import list_presets

    rows = list_presets(count_parameters_=not args.no_counts)
    columns = ["name", "family", "generator_parameters", "discriminator_parameters", "resolution", "pretrained", "license"]
    columns = [c for c in columns if c in rows[0]]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{row[c]:,}" if isinstance(row[c], int) and not isinstance(row[c], bool) else str(row[c]) for c in columns]
        print("| " + " | ".join(cells) + " |")


def cmd_train(args) -> None:
    try:
        training.train(args.preset, args.data_dir, args.out, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
              image_size=args.image_size, batch_size=args.batch_size, masks=args.masks, seed=args.seed,
              g_learning_rate=args.lr, d_learning_rate=args.d_lr, lr_schedule=args.lr_schedule,
              ema_momentum=args.ema, resume=args.resume, teacher=args.teacher, jit_compile={"on": True, "off": False}.get(args.jit, "auto"),
              **{name: getattr(args, name) for name in LOSS_WEIGHT_FLAGS if getattr(args, name) is not None})
    except FileExistsError as e:
        raise UserError(f"{e} (pass --resume to continue it)") from None
    except RuntimeError as e:
        if "NaN" not in str(e) and "Inf" not in str(e):
            raise
        raise UserError(f"training diverged ({e}); {args.out} keeps the last finished epoch: "
                        "lower --lr and continue with --resume.") from None
    print(f"wrote preset {os.path.join(args.out, 'preset')}")


def cmd_evaluate(args) -> None:
    import json

    from keras_inpaint.evaluation import markdown_table

    result = evaluate(args.preset, args.data_dir, settings=args.settings, sizes=args.sizes, baselines=args.baselines,
                      max_images=args.max_images, contact_sheet=args.contact_sheet, **inference_kwargs(args))
    print(markdown_table(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


def cmd_upload(args) -> None:
    from keras_inpaint.hub import upload_preset

    print(upload_preset(args.handle, args.preset_dir, private=args.private, token=args.token))


def cmd_export(args) -> None:
    from keras_inpaint import Inpainter
    from keras_inpaint.export import export_saved_model, export_tflite

    if os.path.exists(args.output):
        raise UserError(f"{args.output} exists; choose a new path (nothing is overwritten).")
    model = Inpainter.from_preset(args.preset)
    if args.format == "saved_model":
        export_saved_model(model, args.output, working_size=args.working_size)
    else:
        if not args.size:
            raise UserError("--format tflite needs --size HEIGHT WIDTH (TFLite inputs have a fixed size).")
        export_tflite(model, args.output, *args.size)
    print(f"wrote {args.output}")


def cmd_convert(args) -> None:
    convert_checkpoint(args.checkpoint, args.out_dir, family=args.family, discriminator_checkpoint=args.discriminator)
    print(f"wrote preset {args.out_dir}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keras-inpaint", description="Fill the holes of photos with Keras inpainting GANs.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("inpaint", help="inpaint an image (the bundled sample photo if none is given)")
    p.add_argument("image", nargs="?", help="image file or folder of images (default: the bundled sample photo)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--mask", help="mask image (white or >127 marks the hole); a folder of same-named PNGs for a folder")
    group.add_argument("--auto-mask", choices=sorted(MASK_SETTINGS), help="draw a random mask")
    p.add_argument("--preset", default=DEFAULT_PRESET, help=f"built-in name, preset directory or hf://org/name (default {DEFAULT_PRESET})")
    p.add_argument("-o", "--output", required=True, help="output PNG (a folder when IMAGE is a folder)")
    p.add_argument("--grid", action="store_true", help="write a masked-input / mask / result picture")
    p.add_argument("--seed", type=int, default=0, help="seed of --auto-mask (default 0)")
    add_inference_arguments(p)
    p.set_defaults(func=cmd_inpaint)

    p = verbs.add_parser("presets", help="list the built-in presets")
    p.add_argument("--no-counts", action="store_true", help="skip building models to count parameters")
    p.set_defaults(func=cmd_presets)

    p = verbs.add_parser("train", help="train a preset on a folder of photos (resumable)")
    p.add_argument("data_dir")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--out", required=True, help="run directory: backup/, preset/, log.jsonl")
    for name in ("epochs", "steps_per_epoch", "image_size", "batch_size", "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=TRAIN_DEFAULTS[name],
                       help="(default %(default)s)")
    p.add_argument("--masks", choices=[*sorted(MASK_SETTINGS), "mixed"], default=TRAIN_DEFAULTS["masks"],
                   help=f"mask setting; mixed draws one of {', '.join(MIXED)} per mask (default %(default)s)")
    p.add_argument("--lr", type=float, default=TRAIN_DEFAULTS["g_learning_rate"],
                   help="generator learning rate (default: the preset's optimizer's)")
    p.add_argument("--d-lr", type=float, default=TRAIN_DEFAULTS["d_learning_rate"],
                   help="discriminator learning rate (default: the preset's optimizer's)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TRAIN_DEFAULTS["lr_schedule"],
                   help="cosine: decay both rates to 0 over all epochs")
    p.add_argument("--ema", type=float, default=GAN_DEFAULTS["ema_momentum"], metavar="MOMENTUM",
                   help="keep a moving average of the generator (e.g. 0.999); preset/ holds the average")
    p.add_argument("--resume", action="store_true", help="continue the run already in --out")
    p.add_argument("--jit", choices=["auto", "on", "off"], default="auto",
                   help="XLA-compile the train step (auto: Keras's choice, XLA on a GPU and none on a CPU, where it is slower)")
    p.add_argument("--teacher", metavar="PRESET", help="a trained preset to distil from (with --distillation-weight)")
    losses = p.add_argument_group("loss weights (default: the preset family's)")
    for name, help_text in LOSS_WEIGHT_FLAGS.items():
        losses.add_argument("--" + name.replace("_", "-"), type=float, metavar="W", help=help_text)
    p.set_defaults(func=cmd_train)

    p = verbs.add_parser("evaluate", help="PSNR/SSIM/L1 of a preset and classical baselines on a photo folder")
    p.add_argument("data_dir")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--sizes", type=int, nargs="+", default=list(EVALUATE_DEFAULTS["sizes"]))
    p.add_argument("--settings", nargs="+", choices=sorted(MASK_SETTINGS), default=list(EVALUATE_DEFAULTS["settings"]))
    p.add_argument("--baselines", nargs="+", choices=BASELINES, default=list(EVALUATE_DEFAULTS["baselines"]))
    p.add_argument("--max-images", type=int)
    p.add_argument("--contact-sheet", help="write a masked / ours / baselines / original PNG")
    add_inference_arguments(p)
    p.add_argument("--json", help="write every number as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = verbs.add_parser("upload", help="publish a preset directory to the Hugging Face Hub")
    p.add_argument("handle", help="hf://org/name")
    p.add_argument("preset_dir")
    p.add_argument("--private", action="store_true")
    p.add_argument("--token", help="Hugging Face token (default: HF_TOKEN or the saved login)")
    p.set_defaults(func=cmd_upload)

    p = verbs.add_parser("export", help="export a preset as a TensorFlow SavedModel or a TFLite file")
    p.add_argument("output")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--format", choices=["saved_model", "tflite"], default="saved_model")
    p.add_argument("--size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="input size (TFLite)")
    p.add_argument("--working-size", type=_working_size_argument, default="auto", metavar="PIXELS",
                   help="SavedModel: inpaint images larger than this at this size (auto: the preset's; 0: full size)")
    p.set_defaults(func=cmd_export)

    p = verbs.add_parser("convert", help="convert an official LaMa / MI-GAN / DeepFill v2 / pix2pix checkpoint into a preset")
    p.add_argument("checkpoint", help=".ckpt / .pt / .pth (read without torch, no code run) or .npz of the state dict")
    p.add_argument("out_dir", help="the preset folder to write (must not exist or be empty)")
    p.add_argument("--family", choices=sorted(CONVERTERS), help="the checkpoint's family (default: read from its tensor names)")
    p.add_argument("--discriminator", metavar="CHECKPOINT", help="a separate discriminator state dict (pix2pix's latest_net_D.pth, MI-GAN's)")
    p.set_defaults(func=cmd_convert)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from keras_inpaint.errors import CheckpointError, InpaintInputError, PresetError

    try:
        args.func(args)
    except (UserError, PresetError, InpaintInputError, CheckpointError, FileNotFoundError) as e:
        print(f"keras-inpaint: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
