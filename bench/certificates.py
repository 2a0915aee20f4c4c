"""Certificate PDF benchmarks (issue 5): one certificate warm, and 1,000 in bulk.

- One certificate, warm: ``render.render_certificate`` against WeasyPrint alone laying out and
  writing the very same HTML with the same fonts, stylesheet and image cache (target ≤ 1.5×),
  interleaved so that a busy machine slows both alike; without images, and with a border and a logo.
- 1,000 certificates (varied names, a border and a logo) as one print-ready PDF and as a ZIP of
  single PDFs, with one process and with two (target ≥ 1.6× faster with both cores), each run in
  a fresh process so that its peak memory is its own: the parent's and its workers' high-water
  resident size (target flat, under 200 MB); the single-process PDF also at 100 certificates, to
  show that the peak does not grow with the batch.

    python -m bench certificates        # or: python -m bench.certificates
"""

import io
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time

N_SINGLE = 60  # timed runs of each single-certificate renderer
N_BULK = 1000

NAMES = ["Nguyễn Thị Ngọc Hưởng", "Đặng Quỳnh Ỷ", "Lê Thị Thu Hằng", "Trần Văn Đức", "Huỳnh Ngọc Ửng",
         "Võ Thị Mỹ Duyên", "Phạm Quốc Khánh", "Tôn Nữ Hoàng Phương Thảo"]


def _images():
    """A border (A4 at 300 dpi) and a logo, checked and re-encoded as an upload would be."""
    from PIL import Image, ImageDraw

    from portal.certificates import assets

    border = Image.new("RGB", (3508, 2480), (255, 250, 238))
    draw = ImageDraw.Draw(border)
    for i, (width, colour) in enumerate([(60, (164, 22, 26)), (16, (201, 162, 39)), (8, (164, 22, 26))]):
        margin = 60 + i * 70
        draw.rectangle([margin, margin, 3508 - margin, 2480 - margin], outline=colour, width=width)
    logo = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse([10, 10, 390, 390], fill=(200, 16, 46))
    images = {}
    for name, picture in (("border", border), ("logo", logo)):
        out = io.BytesIO()
        picture.save(out, "PNG")
        mime, _, _, content = assets.prepare(out.getvalue())
        images[name * 8] = (mime, content)
    return images


def datas(n, with_images=True):
    from portal.certificates import render

    images = {"border": "border" * 8, "logo": "logo" * 8} if with_images else {}
    return [render.sample_data({"recipient_name": f"{NAMES[i % len(NAMES)]} {i + 1}", "code": f"K7Q2M{i:05d}",
                                "verify_url": f"https://portal.example.vn/verify/K7Q2M-{i:05d}", **images})
            for i in range(n)]


def _row(label, samples_ms):
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return (label, len(samples_ms), 1000 / statistics.mean(samples_ms), q[49], q[94], q[98])


def _single(label, data, images):
    """Interleaved: WeasyPrint alone on the same HTML and engine, then render_certificate; two rows."""
    from weasyprint import HTML

    from portal import documents
    from portal.certificates import render

    render.render_certificate(data, images)  # warm: fonts, stylesheets, image cache
    engine = render._engine()
    values = render.context(data, images)
    html = render._html(values, False)
    stylesheets = engine["stylesheets"] + ([render._image_stylesheet(engine, values)] if images else [])
    base_url = str(documents.STATIC_DIR) + os.sep

    def raw():
        HTML(string=html, base_url=base_url, url_fetcher=engine["fetcher"]).render(
            font_config=engine["fonts"], stylesheets=stylesheets, cache=engine["cache"]).write_pdf()

    raw()
    raw_ms, ours_ms = [], []
    for _ in range(N_SINGLE):
        for fn, samples in ((raw, raw_ms), (lambda: render.render_certificate(data, images), ours_ms)):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
    base = _row(f"WeasyPrint alone, same HTML, warm ({label})", raw_ms)
    mine = _row(f"render_certificate, warm ({label})", ours_ms)
    ratio = mine[3] / base[3]
    return [base, (mine[0] + f" = {ratio:.2f}× WeasyPrint (target ≤ 1.5×)", *mine[1:])]


BULK_SCRIPT = r"""
import json, pickle, resource, sys, time
sys.path.insert(0, sys.argv[1])
from bench.certificates import datas
from portal.certificates import render

fmt, n, processes, target = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(sys.argv[6], "rb") as fh:
    images = pickle.load(fh)
batch = datas(n)

def high_water_mb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024

idle = high_water_mb()
t = time.perf_counter()
write = render.write_pdf if fmt == "pdf" else render.write_zip
assert write(batch, target, images=images, processes=processes) == n
elapsed = time.perf_counter() - t
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "idle": idle, "peak": high_water_mb(), "workers": children}))
"""


def _bulk(fmt, n, processes, tmp):
    """One bulk run in a fresh process: seconds, the parent's peak and the largest worker's peak (MB)."""
    target = os.path.join(tmp, f"out-{processes}.{fmt}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", BULK_SCRIPT, root, fmt, str(n), str(processes), target,
                           os.path.join(tmp, "images.pickle")], check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["bytes"] = os.path.getsize(target)
    return result


def bench_certificates():
    from portal.certificates import render

    rows = []
    images = _images()
    rows += _single("no images", render.sample_data(), None)
    rows += _single("border and logo", datas(1)[0], images)

    with tempfile.TemporaryDirectory(prefix="portal-bench-certificates-") as tmp:
        with open(os.path.join(tmp, "images.pickle"), "wb") as fh:
            pickle.dump(images, fh)  # made once here, so that the runs' peaks are their own
        for fmt, what in (("pdf", "one PDF"), ("zip", "a ZIP of single PDFs")):
            runs = {processes: _bulk(fmt, N_BULK, processes, tmp) for processes in (1, 2)}
            speedup = runs[1]["seconds"] / runs[2]["seconds"]
            for processes, run in runs.items():
                memory = f"peak RSS {run['peak']:.0f} MB (loaded {run['idle']:.0f})"
                if processes > 1:
                    memory += f" + {processes} workers ≤ {run['workers']:.0f} MB each"
                label = (f"{N_BULK:,} certificates as {what}, {processes} process{'es' if processes > 1 else ''}: "
                         f"{run['seconds']:.1f} s, {run['bytes'] / 2**20:.1f} MB, {memory}")
                if processes > 1:
                    label += f"; {speedup:.2f}× one process (target ≥ 1.6×)"
                per_ms = run["seconds"] * 1000 / N_BULK
                rows.append((label, N_BULK, N_BULK / run["seconds"], per_ms, per_ms, per_ms))
            print(f"{what}: two processes are {speedup:.2f}× faster than one", file=sys.stderr)
        small = _bulk("pdf", 100, 1, tmp)
        per_ms = small["seconds"] * 1000 / 100
        rows.append((f"100 certificates as one PDF, 1 process: peak RSS {small['peak']:.0f} MB "
                     f"(loaded {small['idle']:.0f}); flat: the same as for 1,000", 100, 100 / small["seconds"],
                     per_ms, per_ms, per_ms))
    return rows


if __name__ == "__main__":
    for row in bench_certificates():
        print(row)
