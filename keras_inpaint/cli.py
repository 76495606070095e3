"""The ``keras-inpaint`` command line.

Exit codes: 0 success; 2 usage error (reported by the parser before any model is built);
1 failure (one line on stderr, no traceback; ``--debug`` shows it); 130 interrupted (Ctrl-C,
SIGINT) and 143 terminated (SIGTERM), each with one line saying what is kept.

Building the parser imports no TensorFlow: defaults and choices are read from the library's
source by :mod:`keras_inpaint.source_facts`, and each verb imports what it runs when it runs.
TensorFlow's and CUDA's native log lines are hidden unless ``--verbose``
(:mod:`keras_inpaint.console`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from keras_inpaint import distribution, interrupts, source_facts  # (standard library and numpy only)
from keras_inpaint.console import PROGRAM, one_line_warnings, progress, quiet_native_logs, say
from keras_inpaint.masks import MASK_SETTINGS, MIXED

SAMPLE_PHOTO = os.path.join(os.path.dirname(__file__), "assets", "chelsea.jpg")
DEFAULT_PRESET = "lama_tiny"
# The CLI's defaults and choices are the library's (read without importing it).
TRAIN_DEFAULTS = source_facts.keyword_defaults("keras_inpaint.training", "train")
EVALUATE_DEFAULTS = source_facts.keyword_defaults("keras_inpaint.evaluation", "evaluate")
GAN_DEFAULTS = source_facts.keyword_defaults("keras_inpaint.models.inpainting_gan", "InpaintingGAN.__init__")
BASELINES = source_facts.constant("keras_inpaint.evaluation", "BASELINES")
LR_SCHEDULES = source_facts.constant("keras_inpaint.training", "LR_SCHEDULES")
# `train` exposes every weighted loss term of InpaintingGAN as --<weight-argument>.
LOSS_WEIGHT_FLAGS = source_facts.loss_weights()
FAMILIES = source_facts.converter_families()
SERVE_DEFAULTS = source_facts.keyword_defaults("keras_inpaint.serve", "serve")
STRATEGIES = source_facts.constant("keras_inpaint.distribution", "STRATEGIES")
DATA_SHARDINGS = source_facts.constant("keras_inpaint.training", "DATA_SHARDINGS")


class UserError(Exception):
    """A problem with what the user asked for: reported in one line, exit code 1."""


def _save_png(array, path: str, overwrite: bool = True) -> None:
    """Write ``array`` atomically (keras_inpaint.image_io.write_image); float [0, 1] at 16 bits in PNG."""
    from keras_inpaint.image_io import write_image

    try:
        write_image(array, path, overwrite=overwrite)
    except FileExistsError as e:
        raise UserError(str(e)) from None


def _load_mask(path: str, image=None):
    """The hole (bool (H, W), True = hole) of the mask file at ``path``, checked against ``image`` if given."""
    from keras_inpaint.image_io import check_mask_size, read_mask

    mask = read_mask(path)
    if image is not None:
        check_mask_size(mask, image, path)
    return mask


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
                             "(auto: the preset's setting)")
    parser.add_argument("--blend", choices=["auto", "poisson", "none"], default="auto",
                        help="poisson: blend the fill into the photo; none: paste it (auto: the preset's setting)")
    parser.add_argument("--hd-strategy", choices=["auto", "crop", "resize", "original"], default=None,
                        help="large photos: crop a box around each hole (memory bounded by the holes), resize the "
                             "whole photo to the working size, or keep the original size; auto: crop above "
                             "2 megapixels (default: the preset's setting)")
    parser.add_argument("--max-memory-gb", type=_non_negative_float, default=None, metavar="GB",
                        help="refuse a photo whose estimated peak memory exceeds this; 0: no check "
                             "(default: the memory available)")


def inference_kwargs(args) -> dict:
    """``Inpainter.inpaint`` keyword arguments from :func:`add_inference_arguments`' options."""
    limit = getattr(args, "max_memory_gb", None)
    return {"working_size": args.working_size, "blend": None if args.blend == "none" else args.blend,
            "hd_strategy": getattr(args, "hd_strategy", None),
            "max_memory_gb": "auto" if limit is None else (limit or None)}


def _inpaint_one(model, path, mask, auto_mask, seed, output, grid_picture, inference=None):
    """Inpaint the image at ``path`` with ``mask`` (a mask file's path, an array, or None for
    ``--auto-mask``); write ``output``. Returns the image's shape and hole ratio."""
    import numpy as np

    from keras_inpaint.image_io import read_image, to_uint8
    from keras_inpaint.masks import random_mask
    from keras_inpaint.visualize import before_mask_after

    image = read_image(path)  # uint8, or float32 [0, 1] for 16-bit and float files (kept to the output)
    if isinstance(mask, str):
        mask = _load_mask(mask, image)
    elif mask is None:
        mask = random_mask(image.shape[0], image.shape[1], auto_mask, seed=seed).astype(np.uint8)
    elif mask.shape != image.shape[:2]:
        raise UserError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but {path} is {image.shape[1]}x{image.shape[0]}.")
    result = model.inpaint(image, mask, **(inference or {}))
    _save_png(before_mask_after(to_uint8(image), mask, to_uint8(result)) if grid_picture else result, output)
    return image.shape, float(mask.mean())


def _same_file(a: str, b: str) -> bool:
    return os.path.abspath(a) == os.path.abspath(b) or (os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b))


def check_inpaint(args, parser) -> None:
    if args.mask is None and args.auto_mask is None:
        parser.error("give --mask MASK or --auto-mask thin|medium|thick")
    source = args.image or SAMPLE_PHOTO
    for name, path in (("IMAGE", source), ("--mask", args.mask)):
        if path is not None and not os.path.isdir(path) and _same_file(args.output, path):
            parser.error(f"-o {args.output} is the {name} file; choose another output path")


def _folder_jobs(source: str, args) -> list[tuple[str, str | None, str]]:
    """(image, mask file or None, output) for every image under the folder ``source``."""
    from keras_inpaint.data import list_images

    try:
        images = list_images(source)
    except ValueError:  # DataError: none found
        raise UserError(f"no images in {source} (looked for .jpg, .jpeg, .png, .webp, .bmp).") from None
    if os.path.isfile(args.output):
        raise UserError(f"-o {args.output} is a file; give a folder for the results of a folder of images.")
    shared_mask = args.mask if args.mask is not None and os.path.isfile(args.mask) else None
    jobs = []
    for path in images:
        relative = os.path.splitext(os.path.relpath(path, source))[0] + ".png"
        mask_path = shared_mask
        if args.mask is not None and shared_mask is None:
            mask_path = os.path.join(args.mask, relative)
            if not os.path.exists(mask_path):
                raise UserError(f"no mask {mask_path} for {path} (--mask is a folder of same-named PNGs, "
                                "or one mask file for every image).")
        jobs.append((path, mask_path, os.path.join(args.output, relative)))
    return jobs


def _check_writable_target(output: str) -> None:
    """Refuse an output whose folder cannot be created (a path under a regular file)."""
    parent = os.path.dirname(os.path.abspath(output))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise UserError(f"cannot write {output}: {parent} is a file, not a folder.")


def cmd_inpaint(args) -> None:
    source = args.image or SAMPLE_PHOTO
    if not os.path.exists(source):
        raise UserError(f"cannot read image {source}: no such file or folder.")
    if os.path.isdir(source):
        jobs = _folder_jobs(source, args)
    else:
        if args.mask is not None and os.path.isdir(args.mask):
            raise UserError(f"--mask {args.mask} is a folder; give one mask image for one image.")
        if os.path.isdir(args.output):
            raise UserError(f"-o {args.output} is a folder; give a file path (.png) for one image.")
        jobs = [(source, args.mask, args.output)]
    existing = [out for _, _, out in jobs if os.path.exists(out)]
    if existing and not (args.overwrite or args.skip_existing):
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise UserError(f"{existing[0]} exists{more}; pass --overwrite to replace or --skip-existing to keep it.")
    if args.skip_existing:
        jobs = [job for job in jobs if not os.path.exists(job[2])]
        if existing:
            say(f"skipping {len(existing)} existing output(s)")
    for _, _, output in jobs:
        _check_writable_target(output)
    if not jobs:
        return
    from keras_inpaint import Inpainter

    model = Inpainter.from_preset(args.preset)
    # One mask file for a whole folder is read once.
    shared_mask = _load_mask(jobs[0][1]) if len(jobs) > 1 and len({mask for _, mask, _ in jobs}) == 1 and jobs[0][1] else None
    try:
        for index, (path, mask_path, output) in enumerate(progress(jobs, what="inpainting") if len(jobs) > 1 else jobs):
            interrupts.check()
            os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
            mask = shared_mask if shared_mask is not None else mask_path
            shape, ratio = _inpaint_one(model, path, mask, args.auto_mask, args.seed + index, output, args.grid,
                                        inference_kwargs(args))
            say(f"wrote {output} ({shape[1]}x{shape[0]}, {100 * ratio:.1f}% hole, preset {args.preset})")
    except interrupts.INTERRUPTIONS as e:
        if len(jobs) > 1:
            written = sum(os.path.exists(output) for _, _, output in jobs)
            e.add_note(f"{written} of the {len(jobs)} results are written to {args.output}: "
                       "rerun with --skip-existing to do the rest")
        raise


def cmd_presets(args) -> None:
    from keras_inpaint.models.preset_loading import list_presets

    rows = list_presets(count_parameters_=args.count, progress=progress if args.count else None)
    columns = ["name", "family", "generator_parameters", "discriminator_parameters", "resolution", "pretrained", "license"]
    columns = [c for c in columns if c in rows[0]]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{row[c]:,}" if isinstance(row[c], int) and not isinstance(row[c], bool) else str(row[c]) for c in columns]
        print("| " + " | ".join(cells) + " |")


def check_train(args, parser) -> None:
    if args.ema is not None and not 0.0 <= args.ema < 1.0:
        parser.error(f"--ema must be in [0, 1); got {args.ema}")
    if args.image_size < 16:
        parser.error(f"--image-size must be at least 16 pixels; got {args.image_size}")
    if args.cpu_devices is not None and args.strategy != "mirrored":
        parser.error("--cpu-devices goes with --strategy mirrored")
    if args.strategy == "multi-worker":
        from keras_inpaint.errors import ConfigError

        try:
            distribution.cluster_task()
        except ConfigError as e:
            parser.error(str(e))


def cmd_train(args) -> int | None:
    if args.strategy == "multi-worker" and distribution.HEARTBEAT_FD not in os.environ:
        # TensorFlow may wait for the cluster inside a call that no thread of this process can
        # interrupt: train in a child process, watched from here.
        return distribution.supervise([sys.executable, "-m", "keras_inpaint.cli", *args.argv], args.worker_timeout)
    from keras_inpaint import training

    try:
        training.train(args.preset, args.data_dir, args.out, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                       image_size=args.image_size, batch_size=args.batch_size, masks=args.masks, seed=args.seed,
                       g_learning_rate=args.lr, d_learning_rate=args.d_lr, lr_schedule=args.lr_schedule,
                       ema_momentum=args.ema, resume=args.resume, teacher=args.teacher,
                       jit_compile={"on": True, "off": False}.get(args.jit, "auto"),
                       verbose=0, callbacks=[training.ProgressLine(args.epochs, args.steps_per_epoch)],
                       strategy=args.strategy, cpu_devices=args.cpu_devices, worker_timeout=args.worker_timeout,
                       data_sharding=args.data_sharding,
                       **{name: getattr(args, name) for name in LOSS_WEIGHT_FLAGS if getattr(args, name) is not None})
    except FileExistsError as e:
        raise UserError(f"{e} (pass --resume to continue it)") from None
    except (PermissionError, NotADirectoryError) as e:  # --out cannot be written: refused before any work
        raise UserError(str(e)) from None
    except interrupts.INTERRUPTIONS as e:
        saved = training.RunBackup(os.path.join(args.out, "backup")).checkpoints()
        e.add_note(f"{args.out} keeps epoch {saved[0]['epoch']} of {args.epochs}: continue with --resume" if saved
                   else "no epoch had finished, so there is nothing to resume")
        raise
    except RuntimeError as e:
        if "NaN" not in str(e) and "Inf" not in str(e):
            raise
        raise UserError(f"training diverged ({e}); {args.out} keeps the last finished epoch: "
                        "lower --lr and continue with --resume.") from None
    rank = distribution.cluster_task().rank if args.strategy == "multi-worker" else 0
    say(f"wrote preset {os.path.join(args.out, 'preset')}" if rank == 0 else f"worker {rank} finished")


def cmd_evaluate(args) -> None:
    from keras_inpaint.evaluation import evaluate, markdown_table, save_result

    if args.json:
        _check_writable_target(args.json)
    try:
        result = evaluate(args.preset, args.data_dir, settings=args.settings, sizes=args.sizes,
                          baselines=args.baselines, max_images=args.max_images, contact_sheet=args.contact_sheet,
                          progress=progress, **inference_kwargs(args))
    except interrupts.INTERRUPTIONS as e:
        e.add_note("no results written (the table, --json and --contact-sheet come at the end)")
        raise
    print(f"preset {result['preset']}, {result['images']} images, working size "
          f"{result['working_size'] or 'full'}, blend {result['blend'] or 'none'}")
    print(markdown_table(result))
    if args.json:
        try:
            save_result(result, args.json)
        except OSError as e:
            raise UserError(f"cannot write {args.json}: {e.strerror or e}.") from None


def cmd_upload(args) -> None:
    from keras_inpaint.hub import upload_preset

    say(upload_preset(args.handle, args.preset_dir, private=args.private, token=args.token))


def check_export(args, parser) -> None:
    if args.format == "tflite" and not args.size:
        parser.error("--format tflite needs --size HEIGHT WIDTH (TFLite inputs have a fixed size)")
    if args.format == "saved_model" and args.size:
        parser.error("--size is for --format tflite (a SavedModel takes any size)")


def cmd_export(args) -> None:
    if os.path.exists(args.output):
        raise UserError(f"{args.output} exists; choose a new path (nothing is overwritten).")
    parent = os.path.dirname(os.path.abspath(args.output))
    _check_writable_target(args.output)
    if os.path.isdir(parent) and not os.access(parent, os.W_OK):
        raise UserError(f"cannot write {args.output}: {parent} is not writable.")
    from keras_inpaint import Inpainter
    from keras_inpaint.export import export_saved_model, export_tflite

    steps = progress(["load", "export"], what=f"exporting {args.format}", unit="step")
    for step in steps:
        if step == "load":
            model = Inpainter.from_preset(args.preset)
        elif args.format == "saved_model":
            export_saved_model(model, args.output, working_size=args.working_size)
        else:
            export_tflite(model, args.output, *args.size)
    say(f"wrote {args.output}")


def cmd_convert(args) -> None:
    from keras_inpaint.convert import convert_checkpoint

    convert_checkpoint(args.checkpoint, args.out_dir, family=args.family, discriminator_checkpoint=args.discriminator)
    say(f"wrote preset {args.out_dir}")


def cmd_serve(args) -> None:
    try:
        from keras_inpaint.serve import serve
    except ImportError as e:
        if e.name not in ("starlette", "uvicorn", "python_multipart"):
            raise
        raise UserError(f"serve needs the [serve] extra (no {e.name}): pip install 'keras-inpaint[serve]'.") from None
    try:
        serve(args.preset or [DEFAULT_PRESET], host=args.host, port=args.port, max_upload_mb=args.max_upload_mb,
              max_megapixels=args.max_megapixels, announce=say, log_level="info" if args.verbose else "warning")
    except OSError as e:
        raise UserError(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}.") from None


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 (any free port) to 65535; got {text!r}")
    return int(text)


def _number(convert, low: float, inclusive: bool, expected: str):
    """An argparse type: ``convert(text)`` (int or float), finite, above ``low`` (or equal to it
    when ``inclusive``); otherwise a usage error saying what was ``expected``."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or value != value or value == float("inf") or value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value

    return parse


_positive_int = _number(int, 0, False, "a positive whole number")
_positive_float = _number(float, 0.0, False, "a positive number")
_non_negative_float = _number(float, 0.0, True, "a number >= 0")


def _common_options(parser: argparse.ArgumentParser, default=None) -> None:
    """``--verbose`` and ``--debug``, accepted before and after the verb."""
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show TensorFlow's and CUDA's own log lines")
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback of an error")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to an option's help, except where there is nothing to say (an
    off switch, a default of None that the help text explains)."""

    def _get_help_string(self, action):
        if any(action.default is v for v in (None, False, argparse.SUPPRESS)) or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _add_verb(verbs, name: str, help_text: str, func, check=None) -> argparse.ArgumentParser:
    parser = verbs.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                              formatter_class=_HelpFormatter)
    _common_options(parser, default=argparse.SUPPRESS)  # do not override the values given before the verb
    parser.set_defaults(func=func, check=check, parser=parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; building it imports no TensorFlow."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Fill the holes of photos with Keras inpainting GANs.")
    _common_options(parser, default=False)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = _add_verb(verbs, "inpaint", "inpaint an image or a folder of images (the bundled sample photo if none is given)",
                  cmd_inpaint, check_inpaint)
    p.add_argument("image", nargs="?", help="image file or folder of images (default: the bundled sample photo)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--mask", help="mask image (white, > 127, marks the hole); for a folder: one mask for every "
                                      "image, or a folder of same-named PNGs")
    group.add_argument("--auto-mask", choices=sorted(MASK_SETTINGS), help="draw a random mask")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="built-in name, preset directory or hf://org/name")
    p.add_argument("-o", "--output", required=True, help="output PNG (a folder when IMAGE is a folder)")
    existing = p.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    existing.add_argument("--skip-existing", action="store_true", help="keep outputs that exist and do the rest")
    p.add_argument("--grid", action="store_true", help="write a masked-input / mask / result picture")
    p.add_argument("--seed", type=int, default=0, help="seed of --auto-mask")
    add_inference_arguments(p)

    p = _add_verb(verbs, "presets", "list the built-in presets", cmd_presets)
    p.add_argument("--count", action="store_true",
                   help="build every model and count its parameters (default: the counts recorded with the presets)")

    p = _add_verb(verbs, "train", "train a preset on a folder of photos (resumable)", cmd_train, check_train)
    p.add_argument("data_dir", help="folder of photos (searched recursively)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="built-in name, preset directory or hf://org/name")
    p.add_argument("--out", required=True, help="run directory: backup/, preset/, log.jsonl, samples/, tensorboard/")
    p.add_argument("--epochs", type=_positive_int, default=TRAIN_DEFAULTS["epochs"], help="total epochs")
    p.add_argument("--steps-per-epoch", type=_positive_int, default=TRAIN_DEFAULTS["steps_per_epoch"],
                   help="batches per epoch")
    p.add_argument("--image-size", type=_positive_int, default=TRAIN_DEFAULTS["image_size"],
                   help="side of the square training crops, in pixels")
    p.add_argument("--batch-size", type=_positive_int, default=TRAIN_DEFAULTS["batch_size"], help="photos per batch")
    p.add_argument("--seed", type=int, default=TRAIN_DEFAULTS["seed"], help="seed of weights, crops and masks")
    p.add_argument("--masks", choices=[*sorted(MASK_SETTINGS), "mixed"], default=TRAIN_DEFAULTS["masks"],
                   help=f"mask setting; mixed draws one of {', '.join(MIXED)} per mask")
    p.add_argument("--lr", type=_positive_float, default=TRAIN_DEFAULTS["g_learning_rate"],
                   help="generator learning rate (default: the preset's optimizer's)")
    p.add_argument("--d-lr", type=_positive_float, default=TRAIN_DEFAULTS["d_learning_rate"],
                   help="discriminator learning rate (default: the preset's optimizer's)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TRAIN_DEFAULTS["lr_schedule"],
                   help="cosine: decay both rates to 0 over all epochs")
    p.add_argument("--ema", type=float, default=GAN_DEFAULTS["ema_momentum"], metavar="MOMENTUM",
                   help="keep a moving average of the generator (e.g. 0.999); preset/ holds the average")
    p.add_argument("--resume", action="store_true", help="continue the run already in --out")
    p.add_argument("--jit", choices=["auto", "on", "off"], default="auto",
                   help="XLA-compile the train step (auto: Keras's choice, XLA on a GPU and none on a CPU, where it is slower)")
    p.add_argument("--teacher", metavar="PRESET", help="a trained preset to distil from (with --distillation-weight)")
    p.add_argument("--strategy", choices=STRATEGIES, default=TRAIN_DEFAULTS["strategy"],
                   help="default: one device; mirrored: every local GPU; multi-worker: the processes of TF_CONFIG "
                        "(start one per worker with the same arguments); --batch-size is per replica")
    p.add_argument("--cpu-devices", type=_positive_int, metavar="N",
                   help="with --strategy mirrored on a machine without a GPU: split the CPU into N replicas")
    p.add_argument("--worker-timeout", type=_positive_float, default=TRAIN_DEFAULTS["worker_timeout"], metavar="S",
                   help="multi-worker: give up (one line, exit 1) after S seconds without progress "
                        "(the cluster does not form, a worker hangs)")
    p.add_argument("--data-sharding", choices=DATA_SHARDINGS, default=TRAIN_DEFAULTS["data_sharding"],
                   help="by-file: every worker sees the same DATA_DIR and reads every Nth file; "
                        "per-worker: each worker's DATA_DIR holds its own share")
    losses = p.add_argument_group("loss weights (default: the preset's recipe)")
    for name, help_text in LOSS_WEIGHT_FLAGS.items():
        losses.add_argument("--" + name.replace("_", "-"), type=_non_negative_float, metavar="W", help=help_text)

    p = _add_verb(verbs, "evaluate", "PSNR/SSIM/L1 of a preset and classical baselines on a photo folder", cmd_evaluate)
    p.add_argument("data_dir", help="folder of photos (searched recursively)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="built-in name, preset directory or hf://org/name")
    p.add_argument("--sizes", type=_positive_int, nargs="+", default=list(EVALUATE_DEFAULTS["sizes"]),
                   help="square crop sides, in pixels")
    p.add_argument("--settings", nargs="+", choices=sorted(MASK_SETTINGS), default=list(EVALUATE_DEFAULTS["settings"]),
                   help="mask settings")
    p.add_argument("--baselines", nargs="*", choices=BASELINES, default=list(BASELINES), help="classical methods")
    p.add_argument("--max-images", type=_positive_int, help="use the first N photos (default: all)")
    p.add_argument("--contact-sheet", metavar="PNG", help="write a masked / ours / baselines / original picture")
    add_inference_arguments(p)
    p.add_argument("--json", metavar="PATH", help="write every number as JSON")

    p = _add_verb(verbs, "upload", "publish a preset directory to the Hugging Face Hub", cmd_upload)
    p.add_argument("handle", help="hf://org/name")
    p.add_argument("preset_dir", help="a preset folder (save_to_preset, train's preset/, convert's output)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--token", help="Hugging Face token (default: HF_TOKEN or the login of `hf auth login`)")

    p = _add_verb(verbs, "export", "export a preset as a TensorFlow SavedModel or a TFLite file", cmd_export,
                  check_export)
    p.add_argument("output", help="the SavedModel folder or .tflite file to write (must not exist)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="built-in name, preset directory or hf://org/name")
    p.add_argument("--format", choices=["saved_model", "tflite"], default="saved_model", help="what to write")
    p.add_argument("--size", type=_positive_int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                   help="input size (TFLite only, required there)")
    p.add_argument("--working-size", type=_working_size_argument, default="auto", metavar="PIXELS",
                   help="SavedModel: inpaint images larger than this at this size (auto: the preset's; 0: full size)")

    p = _add_verb(verbs, "convert", "convert an official LaMa / MI-GAN / DeepFill v2 / pix2pix checkpoint into a preset",
                  cmd_convert)
    p.add_argument("checkpoint", help=".ckpt / .pt / .pth (read without torch, no code run) or .npz of the state dict")
    p.add_argument("out_dir", help="the preset folder to write (must not exist or be empty)")
    p.add_argument("--family", choices=FAMILIES, help="the checkpoint's family (default: read from its tensor names)")
    p.add_argument("--discriminator", metavar="CHECKPOINT",
                   help="a separate discriminator state dict (pix2pix's latest_net_D.pth, MI-GAN's)")

    p = _add_verb(verbs, "serve", "serve a web page and an HTTP API that inpaint what one paints over", cmd_serve)
    p.add_argument("--preset", action="append",
                   help=f"a preset to offer: built-in name, directory or hf://org/name; repeat for several, the first "
                        f"is the default (default: {DEFAULT_PRESET})")
    p.add_argument("--host", default=SERVE_DEFAULTS["host"],
                   help="address to listen on (0.0.0.0: every interface, reachable by others)")
    p.add_argument("--port", type=_port, default=SERVE_DEFAULTS["port"], help="port to listen on (0: any free port)")
    p.add_argument("--max-upload-mb", type=_positive_float, default=SERVE_DEFAULTS["max_upload_mb"],
                   metavar="MB", help="largest request (photo + mask) in MB")
    p.add_argument("--max-megapixels", type=_positive_float, default=SERVE_DEFAULTS["max_megapixels"],
                   metavar="MEGAPIXELS", help="largest photo in millions of pixels")
    return parser


def _error_line(error: BaseException) -> str:
    from keras_inpaint.errors import CheckpointError, ClusterError, InpaintInputError, PresetError

    if isinstance(error, (UserError, PresetError, InpaintInputError, CheckpointError, ClusterError)):
        return str(error)
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror or error}"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''} (run with --debug for the traceback)"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.check is not None:
        args.check(args, args.parser)
    try:
        with one_line_warnings(), (contextlib.nullcontext() if args.verbose else quiet_native_logs()), \
                interrupts.handled():
            code = args.func(args)
    except interrupts.INTERRUPTIONS as e:
        # One line, no traceback; the verb may have noted what it keeps (``add_note``).
        what = "terminated" if isinstance(e, interrupts.Terminated) else "interrupted"
        print(f"{PROGRAM}: {'; '.join([what, *getattr(e, '__notes__', [])])}", file=sys.stderr)
        return interrupts.exit_code(e)
    except Exception as e:  # every failure is one line; --debug shows where it came from
        if args.debug:
            raise
        print(f"{PROGRAM}: error: {_error_line(e)}", file=sys.stderr)
        return 1
    return code or 0

if __name__ == "__main__":
    sys.exit(main())
