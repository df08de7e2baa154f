"""The page: Gradio Blocks wired to ``handlers``, and the launch settings that keep it private.

Gradio is imported only here (it is the optional ``serve`` extra). Model events share one
concurrency group of size 1, on top of ``ModelCache.lock``: requests queue instead of running
the model at once, and a long video job shows its progress without freezing the page, since
Gradio's queue runs it off the request thread.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

from translate.pipelines.registry import IMAGE, Pipeline
from translate.serve.handlers import Handlers, Plot
from translate.choices import DEFAULT_PRECISION, PRECISIONS

MODEL_GROUP = "model"  # every event that runs a model: one at a time on the device
# System fonts only: Gradio's default theme would make the browser fetch web fonts from the internet.
_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]
_MONO = ["ui-monospace", "monospace"]
# The repository's sample photos and clip, offered as examples to click (absent in a bare install).
SAMPLES = Path(__file__).resolve().parents[2] / "datasets" / "samples"
# A result is shown no larger than it is (a 256x192 video is not blown up to the page's width) and
# never distorted: the browser keeps its aspect ratio within the column.
CSS = """
#video-result video, .pipeline-result video { width: auto !important; height: auto !important;
  max-width: 100%; max-height: 70vh; object-fit: contain; margin: 0 auto; display: block; }
#outputs .grid-container { grid-template-columns: repeat(6, minmax(100px, 1fr)) !important; }
"""
# The outputs gallery keeps six columns whatever the count: Gradio gives a single result the whole
# row as a square thumbnail, which its fixed height then cuts to a strip.


def offline_environment() -> None:
    """Before Gradio is imported: no analytics, no version check, no hub calls."""
    for key, value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"),
                       ("HF_HUB_DISABLE_TELEMETRY", "1"), ("GRADIO_SSR_MODE", "False")):
        os.environ[key] = value


def _frame(rows: List[dict], columns=("step", "value", "series")):
    import pandas as pd

    return pd.DataFrame(rows, columns=list(columns))


@dataclass
class ModelControls:
    """The Try a model tab's settings, read by its Images and Video tabs; the pipeline tabs read
    its precision (one setting for every model the server runs, as before the tabs were split)."""

    model: Any
    direction: Any
    precision: Any
    size: Any
    features: Any  # the feature clusters per label, shown for pix2pixHD models trained with its encoder


def build(handlers: Handlers, title: str = "translate"):
    """The page: Try a model (images, video), one tab per pipeline the server runs, and Runs."""
    offline_environment()
    import gradio as gr

    with gr.Blocks(title=title, analytics_enabled=False) as page:
        gr.Markdown(f"# {title}: image-to-image translation in the browser")
        with gr.Tab("Try a model", id="try"):
            controls = _try_tab(gr, handlers)
        for pipeline in handlers.pipelines():  # each from its declaration: nothing here names one
            with gr.Tab(pipeline.title, id=f"pipeline-{pipeline.name}", elem_id=f"pipeline-{pipeline.name}"):
                _pipeline_tab(gr, handlers, pipeline, controls.precision)
        with gr.Tab("Runs", id="runs"):
            on_run, run, run_outputs = _runs_tab(gr, handlers)
        # The first run is drawn when the page opens, not only when the user picks one.
        page.load(on_run, run, run_outputs)
    page.queue(default_concurrency_limit=1)
    return page


def _try_tab(gr, handlers: Handlers) -> ModelControls:
    controls = _model_controls(gr, handlers)
    with gr.Tab("Images", id="images"):
        _images_tab(gr, handlers, controls)
    with gr.Tab("Video", id="video"):
        _video_tab(gr, handlers, controls)
    return controls


def _model_controls(gr, handlers: Handlers) -> ModelControls:
    """The image model menu, its direction (shown only for a two-way model), precision, size and details."""
    image_models = handlers.cache.choices(IMAGE)  # (label saying what A and B are, name)
    first = image_models[0][1] if image_models else None
    info, directions = handlers.model_info(first)
    with gr.Row():
        model = gr.Dropdown(image_models, value=first, label="model", elem_id="model", scale=3)
        direction = gr.Radio(directions, value=directions[0][1] if directions else None, label="direction",
                             elem_id="direction", visible=len(directions) > 1)
        precision = gr.Dropdown(list(PRECISIONS), value=DEFAULT_PRECISION, label="precision", elem_id="precision")
        size = gr.Number(value=0, precision=0, label="size (long side px, 0 = keep)", elem_id="size")
    hint = handlers.feature_hint(first)
    features = gr.Textbox(value="", label="feature clusters (label=cluster, ... or random)", info=hint,
                          elem_id="features", visible=hint is not None)
    if not image_models:
        gr.Markdown("No image models found: train one (`translate train ...`) or pass `--checkpoint`.")
    with gr.Accordion("model details", open=False):
        details = gr.JSON(info, elem_id="model-info")

    def on_model(name):
        info, directions = handlers.model_info(name)
        hint = handlers.feature_hint(name)
        return (info, gr.update(choices=directions, value=directions[0][1] if directions else None,
                                visible=len(directions) > 1),
                gr.update(value="", info=hint, visible=hint is not None))

    model.change(on_model, model, [details, direction, features])
    return ModelControls(model, direction, precision, size, features)


def _images_tab(gr, handlers: Handlers, c: ModelControls) -> None:
    with gr.Row():
        files = gr.File(file_count="multiple", file_types=["image"], label="images", elem_id="image-upload")
        # a file path, not pixels: the server decodes it itself, through read_image's size gate
        webcam = gr.Image(sources=["webcam"], type="filepath", image_mode=None, label="or the webcam",
                          elem_id="webcam")
    _examples(gr, files, [["coffee.jpg"], ["rocket.jpg"], ["coffee.jpg", "rocket_tower.jpg"]], "image-examples")
    run = gr.Button("Translate", variant="primary", elem_id="translate-images")
    status = gr.Markdown(elem_id="image-status")
    slider = gr.ImageSlider(type="filepath", label="input | output (drag)", elem_id="before-after")
    # contain, not cover: a single wide result must be seen whole, not cropped to a strip
    gallery = gr.Gallery(label="outputs (click one to compare)", columns=6, height=220, object_fit="contain",
                         elem_id="outputs")
    downloads = gr.File(label="download", file_count="multiple", elem_id="downloads")
    pairs = gr.State([])

    def on_images(name, uploaded, cam, way, prec, px, features):
        result = handlers.translate_images(name, uploaded, cam, way, prec, px, features)
        first_pair = tuple(str(p) for p in result.pairs[0]) if result.pairs else None
        return (result.status, first_pair, [str(t) for _, t in result.pairs],
                [str(p) for p in result.downloads] or None, [tuple(map(str, p)) for p in result.pairs])

    run.click(on_images, [c.model, files, webcam, c.direction, c.precision, c.size, c.features],
              [status, slider, gallery, downloads, pairs], concurrency_id=MODEL_GROUP)

    def on_pick(chosen: list, evt: gr.SelectData):
        return tuple(chosen[evt.index]) if chosen and evt.index < len(chosen) else None

    gallery.select(on_pick, pairs, slider)


def _video_tab(gr, handlers: Handlers, c: ModelControls) -> None:
    video_in = gr.File(file_types=["video"], label="video", elem_id="video-upload")
    _examples(gr, video_in, [["coffee_pan.mp4"]], "video-examples", single=True)
    run = gr.Button("Translate video", variant="primary", elem_id="translate-video")
    status = gr.Markdown(elem_id="video-status")
    video_out = gr.Video(label="result (with its audio)", elem_id="video-result")

    def on_video(name, uploaded, way, prec, px, progress=gr.Progress()):
        path, message = handlers.translate_video(name, uploaded, way, prec, px, lambda f, m: progress(f, desc=m))
        return (str(path) if path else None), message

    run.click(on_video, [c.model, video_in, c.direction, c.precision, c.size], [video_out, status],
              concurrency_id=MODEL_GROUP)


def _pipeline_tab(gr, handlers: Handlers, pipeline: Pipeline, precision: Any) -> None:
    """A tab made from a pipeline's declaration: a menu of the models of its kind, an upload of
    what it takes, and a button that runs it; ids are prefixed with its name."""
    models = handlers.cache.choices(pipeline.model)
    gr.Markdown(pipeline.summary)
    if not models:
        gr.Markdown(f"No {pipeline.title.lower()} checkpoints found"
                    + (f" (`{pipeline.how_to_train}`)." if pipeline.how_to_train else "."))
    model = gr.Dropdown(models, value=models[0][1] if models else None, label=f"{pipeline.title.lower()} model",
                        elem_id=f"{pipeline.name}-model")
    upload = gr.File(file_types=list(pipeline.media), label=pipeline.wanted(), elem_id=f"{pipeline.name}-upload")
    inputs = [model, upload, precision]
    if pipeline.pick is not None:  # who dances, which face: a line of text, its default shown
        inputs.append(gr.Textbox(value=pipeline.pick.default, label=pipeline.pick.label,
                                 info=pipeline.pick.hint, elem_id=f"{pipeline.name}-choice"))
    run = gr.Button("Run the pipeline", variant="primary", elem_id=f"run-{pipeline.name}")
    status = gr.Markdown(elem_id=f"{pipeline.name}-status")
    result = gr.Video(label="result", elem_id=f"{pipeline.name}-result", elem_classes=["pipeline-result"])

    def on_run(name, uploaded, prec, choice="", progress=gr.Progress()):
        progress(0.0, desc=f"running the whole {pipeline.title.lower()} pipeline (this takes a while)")
        path, message = handlers.run_pipeline(name, uploaded, prec, pipeline.name, choice)
        return (str(path) if path else None), message

    run.click(on_run, inputs, [result, status], concurrency_id=MODEL_GROUP)


def _examples(gr, target, sets: List[List[str]], elem_id: str, single: bool = False) -> None:
    """Sample inputs to click, from the repository's datasets/samples; nothing when it is absent
    (an installed package without the repository) or a file is missing."""
    rows = [[str(SAMPLES / name) for name in names] for names in sets]
    rows = [row for row in rows if all(Path(p).is_file() for p in row)]
    if rows:
        gr.Examples([[row[0]] if single else [row] for row in rows], target, label="examples (click one)",
                    elem_id=elem_id, example_labels=[" + ".join(Path(p).name for p in row) for row in rows])


def _runs_tab(gr, handlers: Handlers):
    headers, rows = handlers.table()
    names = [r[0] for r in rows]
    gr.Markdown("Every run's latest metrics and losses; click a column header to sort.")
    # a frame, never None: an empty table still shows its own column names, not "1 2 3"
    table = gr.Dataframe(value=_table(headers, rows), interactive=False, elem_id="runs-table", label="runs")
    refresh = gr.Button("Refresh", elem_id="runs-refresh")
    run = gr.Dropdown(names, value=handlers.default_run(), label="run", elem_id="run")

    # Drawn anew for each run: a plot per metric (PSNR ~20 and SSIM ~0.6 on one axis would flatten
    # SSIM), no legend left over from the run before, and markers where a series has one point.
    @gr.render(inputs=run)
    def draw(name: Optional[str]):
        plots, wide = handlers.plots(name), _wide(handlers.curves(name)[1])
        if not plots:
            gr.Markdown("This run has logged no losses or metrics yet.", elem_id="no-curves")
            return
        with gr.Row(equal_height=True):
            for plot in plots:
                _plot(gr, plot)
        if wide is not None:
            gr.Dataframe(wide, label="eval metrics over steps", interactive=False, elem_id="metric-table")

    step = gr.Dropdown([], label="samples at", elem_id="sample-step")
    samples = gr.Gallery(label="sample images", columns=6, height=260, object_fit="contain", elem_id="samples")
    config = gr.Code(language="yaml", label="config.yaml", elem_id="run-config")

    def on_run(name: Optional[str]):
        grids = handlers.samples(name)
        labels = [label for label, _ in grids]
        return (gr.update(choices=labels, value=labels[0] if labels else None),
                _gallery(grids, labels[0] if labels else None), handlers.config(name))

    def on_step(name: Optional[str], label: Optional[str]):
        return _gallery(handlers.samples(name), label)

    def on_refresh():
        headers, rows = handlers.table()
        names = [r[0] for r in rows]
        return gr.update(value=_table(headers, rows)), gr.update(choices=names)

    outputs = [step, samples, config]
    run.change(on_run, run, outputs)
    step.change(on_step, [run, step], samples)
    refresh.click(on_refresh, None, [table, run])
    return on_run, run, outputs


def _plot(gr, plot: Plot) -> None:
    """A line per series; points where a series has a single step (a line of one point is
    invisible). The legend comes from this plot's own rows only."""
    kind = gr.LinePlot if plot.lines else gr.ScatterPlot
    kind(_frame(plot.rows), x="step", y="value", color="series", title=plot.title, y_title=plot.title,
         color_title=None, elem_id=f"plot-{plot.key}", elem_classes=["run-plot"], min_width=280)


def _table(headers: List[str], rows: List[List[Any]]):
    import pandas as pd

    return pd.DataFrame(rows, columns=headers)


def _wide(metric_rows: List[dict]) -> Any:
    """Long (step, value, series) rows -> one row per step, one column per metric, for reading."""
    frame = _frame(metric_rows)
    if frame.empty:
        return None
    return frame.pivot_table(index="step", columns="series", values="value").reset_index().round(4)


def _gallery(grids, label: Optional[str]):
    from translate.data import read_image

    for name, cells in grids:
        if name == label:
            # Arrays, not paths: Gradio then serves copies from its own cache, never the run folder.
            return [(read_image(path), caption) for caption, path in cells]
    return []


def launch(page, host: str, port: int, auth: Optional[tuple], max_upload_mb: float, block: bool = True):
    import gradio as gr

    theme = gr.themes.Default(font=_FONTS, font_mono=_MONO)
    return page.launch(server_name=host, server_port=port, auth=auth, share=False, inbrowser=False,
                       max_file_size=f"{int(max_upload_mb)}mb", show_error=False, ssr_mode=False, quiet=True,
                       prevent_thread_lock=not block, theme=theme, css=CSS, footer_links=[])
