// LookMatch shoppers' page: pick a photo, upload it (POST /uploads, then the presigned POST
// straight to S3), poll GET /recommendations/{photo_id} and show the look and the items.
// Plain JavaScript, no build step. Text from the API is always set with textContent.
"use strict";

(() => {
  const CONFIG = Object.assign(
    { apiBase: "", pollMs: 1000, timeoutMs: 180000 },
    window.LOOKMATCH_CONFIG || {},
  );
  const MAX_BYTES = 10 * 1024 * 1024; // the API's presigned POST refuses more
  const REGIONS = [["upper", "Upper body"], ["lower", "Lower body"], ["whole", "Whole body"]];
  const STEPS = ["upload", "pose", "classify", "recommend"];
  const FINAL = new Set(["DONE", "NO_PERSON", "FAILED"]);

  const $ = (id) => document.getElementById(id);

  // An error whose message is meant for the shopper.
  class ShopperError extends Error {}

  let run = 0; // bumped by every new photo, so an older upload or poll loop stops quietly

  // ---- checking the file -----------------------------------------------------------------------
  // The type comes from the file's first bytes, not its name: a renamed text file is refused here.
  async function sniffType(file) {
    const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
    const ascii = (from, to) => String.fromCharCode(...b.slice(from, to));
    if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
    if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "image/png";
    if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
    return null;
  }

  async function checkFile(file) {
    if (file.size === 0) throw new ShopperError(`"${file.name}" is empty: choose a photo.`);
    if (file.size > MAX_BYTES) {
      throw new ShopperError(
        `"${file.name}" is too large (${megabytes(file.size)}): the limit is 10 MB. ` +
        "Choose a smaller photo or take a new one.");
    }
    const type = await sniffType(file);
    if (!type) {
      const heic = /heic|heif/i.test(file.type) || /\.(heic|heif)$/i.test(file.name);
      throw new ShopperError(heic
        ? `"${file.name}" is a HEIC photo, which we cannot read yet: choose a JPEG, PNG or WebP ` +
          "(on an iPhone: Settings > Camera > Formats > Most Compatible)."
        : `"${file.name}" is not an image we can read: choose a JPEG, PNG or WebP photo.`);
    }
    return type;
  }

  // Rounded up, so a file just over the limit never reads "10.0 MB".
  const megabytes = (n) => n < 1024 * 1024
    ? `${Math.ceil(n / 1024)} KB` : `${(Math.ceil(n / 1024 / 1024 * 10) / 10).toFixed(1)} MB`;

  // ---- talking to the API and to S3 ------------------------------------------------------------
  function apiUrl(path) {
    return CONFIG.apiBase.replace(/\/+$/, "") + path;
  }

  async function api(path, options = {}) {
    let response;
    try {
      response = await fetch(apiUrl(path), {
        ...options,
        headers: { Accept: "application/json", ...(options.headers || {}) },
      });
    } catch (err) {
      throw new ShopperError(
        "The LookMatch service cannot be reached. Check your connection and try again.");
    }
    let body = null;
    try { body = await response.json(); } catch (err) { /* not JSON: handled below */ }
    if (!response.ok) {
      const detail = body && body.message ? body.message : `HTTP ${response.status}`;
      const error = new ShopperError(`The LookMatch service refused the request: ${detail}`);
      error.status = response.status;
      throw error;
    }
    if (body === null) throw new ShopperError("The LookMatch service sent an unreadable answer.");
    return body;
  }

  // XMLHttpRequest rather than fetch: it reports upload progress.
  function postToStorage(upload, file, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      form.append("file", file); // S3 wants the file last
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onerror = () => reject(new ShopperError(
        "The photo could not be sent to storage: it cannot be reached. Try again."));
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) return resolve();
        // S3 answers in XML: <Error><Code>EntityTooLarge</Code><Message>...</Message></Error>
        const code = /<Code>([^<]*)<\/Code>/.exec(xhr.responseText || "");
        const message = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText || "");
        if (code && code[1] === "EntityTooLarge") {
          return reject(new ShopperError("The photo is too large for storage: the limit is 10 MB."));
        }
        reject(new ShopperError(`Storage refused the photo: ${
          message ? message[1] : `HTTP ${xhr.status}`}`));
      };
      xhr.send(form);
    });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- the flow --------------------------------------------------------------------------------
  async function start(file) {
    const mine = ++run;
    clearError();
    $("results").hidden = true;
    $("again").hidden = true;
    $("progress").hidden = true;
    try {
      const type = await checkFile(file);
      showPreview(file);
      showStep("upload", "Asking for an upload slot…");
      const slot = await api("/uploads", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ content_type: type }),
      });
      if (mine !== run) return;
      await postToStorage(slot.upload, file, (share) => {
        if (mine === run) setStatus(`Uploading… ${Math.round(share * 100)}%`);
      });
      if (mine !== run) return;
      showStep("pose", "Uploaded. Waiting for the reading to start…");
      const record = await poll(slot.photo_id, mine);
      if (record) finish(record);
    } catch (err) {
      if (mine !== run) return;
      showError(err instanceof ShopperError ? err.message
        : `Something went wrong on this page: ${err.message}`);
      $("progress").hidden = true;
      $("again").hidden = false;
    }
  }

  // Polls until a final status; returns null when a newer photo took over.
  async function poll(photoId, mine) {
    const deadline = Date.now() + CONFIG.timeoutMs;
    let failures = 0;
    while (Date.now() < deadline) {
      if (mine !== run) return null;
      let record;
      try {
        record = await api(`/recommendations/${encodeURIComponent(photoId)}`);
        failures = 0;
      } catch (err) {
        if (err.status === 404) {
          throw new ShopperError("The service has no record of this photo any more. Upload it again.");
        }
        // A blip is retried; three in a row means the service is down.
        if (++failures >= 3) throw err;
        await sleep(CONFIG.pollMs);
        continue;
      }
      if (mine !== run) return null;
      if (FINAL.has(record.status)) return record;
      const stage = stageOf(record);
      showStep(stage, record.status === "PENDING"
        ? "Uploaded. Waiting for the reading to start…"
        : record.message || STEP_TEXT[stage]);
      await sleep(CONFIG.pollMs);
    }
    throw new ShopperError(
      `Reading the photo takes longer than ${Math.round(CONFIG.timeoutMs / 60000)} minutes. ` +
      "Try again later.");
  }

  const STEP_TEXT = {
    pose: "Reading the pose…", classify: "Classifying the garments…",
    recommend: "Finding matching items…",
  };

  // The workflow's stage: the record's `stage` field when the stack sets one; otherwise the
  // status alone tells only that the reading has started (shown as the first step).
  function stageOf(record) {
    return STEPS.includes(record.stage) ? record.stage : "pose";
  }

  function finish(record) {
    $("progress").hidden = true;
    $("again").hidden = false;
    if (record.status === "NO_PERSON") {
      showError(record.message || "Nobody was found in the photo: upload a photo showing one person.");
      return;
    }
    if (record.status === "FAILED") {
      // The record's reason reads "ErrorType: what went wrong"; the shopper needs only the second part.
      const reason = (record.message || "The reading failed.").replace(/^[A-Z][\w.]*: /, "");
      showError(`We could not read this photo: ${reason}`);
      return;
    }
    showResults(record);
  }

  // ---- showing things --------------------------------------------------------------------------
  let previewUrl = null;

  function showPreview(file) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    $("preview-img").src = previewUrl;
    $("preview-caption").textContent = `${file.name} (${megabytes(file.size)})`;
    $("preview").hidden = false;
  }

  function showStep(step, text) {
    $("progress").hidden = false;
    const at = STEPS.indexOf(step);
    document.querySelectorAll(".steps li").forEach((li) => {
      const i = STEPS.indexOf(li.dataset.step);
      li.className = i < at ? "done" : i === at ? "active" : "";
      if (i === at) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    });
    setStatus(text);
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  function showError(text) {
    const box = $("error");
    box.textContent = text;
    box.hidden = false;
    box.focus();
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    Object.assign(node, props);
    for (const child of children) node.append(child);
    return node;
  }

  const percent = (score) => `${Math.round(Math.max(0, Math.min(1, score)) * 100)}%`;
  const UNSURE_BELOW = 0.5; // a reading the model gives less than even odds
  const nice = (label) => label === "separates" ? "separates (two pieces)" : label;

  function confidence(score) {
    const unsure = score < UNSURE_BELOW;
    return el("span", { className: unsure ? "confidence unsure" : "confidence" }, [
      el("meter", { min: 0, max: 1, value: score, title: `score ${score.toFixed(2)}` }),
      ` ${percent(score)}`,
      ...(unsure ? [el("span", { className: "unsure-note", textContent: " (unsure)" })] : []),
    ]);
  }

  function showResults(record) {
    const predictions = record.predictions || {};
    const colours = record.colours || {};

    const annotated = $("annotated");
    annotated.closest("figure").hidden = !record.annotated_url;
    if (record.annotated_url) annotated.src = record.annotated_url;

    const rows = [["gender", "Gender"], ...REGIONS].map(([key, title]) => {
      const reading = predictions[key];
      const colour = colours[key];
      return el("tr", {}, [
        el("th", { scope: "row", textContent: title }),
        el("td", { textContent: reading ? nice(reading.label) : "not in the picture" }),
        el("td", { className: "colour" }, colour ? [swatch(colour), ` ${colour.name}`] : ["—"]),
        el("td", {}, reading ? [confidence(reading.score)] : ["—"]),
      ]);
    });
    $("reading").tBodies[0].replaceChildren(...rows);

    const note = $("people-note");
    note.hidden = !(record.people_count > 1);
    note.textContent = `${record.people_count} people are in the photo: we read the most prominent one.`;

    const sections = [];
    const recs = record.recommendations || {};
    for (const [region, title] of REGIONS) {
      const items = recs[region] || [];
      if (!items.length) continue;
      const label = predictions[region] ? nice(predictions[region].label) : items[0].category;
      sections.push(el("section", { className: "region", ariaLabel: `${title}: ${label}` }, [
        el("h3", { textContent: `${title}: ${label}` }),
        el("ul", { className: "cards" }, items.map(card)),
      ]));
    }
    if (!sections.length) {
      sections.push(el("p", { className: "note",
        textContent: "No matching items are in stock right now. Try another photo later." }));
    } else {
      sections.unshift(el("h3", { className: "shop-title", textContent: "Matching items in stock" }));
    }
    $("recommendations").replaceChildren(...sections);

    $("preview").hidden = !!record.annotated_url; // the annotated picture shows the same photo
    $("results").hidden = false;
    $("results-title").focus();
  }

  function swatch(colour) {
    const span = el("span", { className: "swatch", title: colour.hex });
    span.style.backgroundColor = colour.hex;
    span.setAttribute("aria-hidden", "true");
    return span;
  }

  function card(item) {
    const price = new Intl.NumberFormat(undefined, { style: "currency", currency: item.currency })
      .format(item.price);
    const picture = item.image_url
      ? el("img", { src: item.image_url, alt: item.name, loading: "lazy" })
      : el("div", { className: "no-image", textContent: "no picture" });
    return el("li", { className: "card" }, [
      picture,
      el("h4", { textContent: item.name }),
      el("p", { className: "price", textContent: price }),
      // The score is a similarity (cosine of embeddings + a colour term), not a probability.
      el("p", { className: "match", textContent: `Match score ${item.score.toFixed(2)}` }),
      el("p", { className: "meta", textContent: `${item.category} · ${item.gender}` }),
    ]);
  }

  // ---- wiring ----------------------------------------------------------------------------------
  function takeFirst(files) {
    if (files && files.length) start(files[0]);
  }

  function init() {
    for (const id of ["file", "camera"]) {
      const input = $(id);
      input.addEventListener("change", () => { takeFirst(input.files); input.value = ""; });
    }
    $("choose").addEventListener("click", () => $("file").click());
    $("take").addEventListener("click", () => $("camera").click());
    // The camera button only where there is likely a camera to open (phones, tablets).
    $("take").hidden = !window.matchMedia("(pointer: coarse)").matches;

    const zone = $("dropzone");
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      takeFirst(e.dataTransfer.files);
    });
    // A photo dropped outside the zone must not make the browser leave the page.
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => e.preventDefault());

    $("again-button").addEventListener("click", () => {
      run++;
      clearError();
      for (const id of ["results", "progress", "preview", "again"]) $(id).hidden = true;
      $("choose").focus();
    });
  }

  init();
})();
