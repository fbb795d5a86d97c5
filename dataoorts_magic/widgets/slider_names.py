"""Names for the panel's slider handles, which ipywidgets leaves unnamed for a screen reader.

An ipywidgets slider is a noUiSlider: its handle (``role="slider"``, reached with Tab) has no
``aria-label``, and nothing in ipywidgets' Python API can give it one, so a screen reader
announces "slider 0.60" with no word of which parameter (axe-core: aria-input-field-name,
serious). The slider's own description label says it, so a small script of ours, displayed
once with the panel, copies each label's text onto its handle and its editable readout, and
names each parameter's "set" toggle "set <parameter>" (not eight checkboxes called "set"),
now and whenever a slider is rebuilt (a new model's range rebuilds it). It touches only
``.dataoorts-panel`` and holds no text from the user or the model. A front end that does not
run it keeps the ipywidgets default.
"""

from __future__ import annotations

SCRIPT = """(() => {
  if (window.__dataoortsSliderNames) return;
  window.__dataoortsSliderNames = true;
  const named = (el, text) => {
    if (el && text && el.getAttribute('aria-label') !== text) el.setAttribute('aria-label', text);
  };
  const name = () => {
    document.querySelectorAll('.dataoorts-panel .widget-slider').forEach((slider) => {
      const label = slider.querySelector(':scope > .widget-label');
      const text = label ? label.textContent.trim() : '';
      slider.querySelectorAll('.noUi-handle').forEach((handle) => named(handle, text));
      const readout = slider.querySelector('.widget-readout');  // its typed-in value, reached with Tab too
      if (readout && text) { named(readout, `${text} value`); readout.setAttribute('role', 'textbox'); }
    });
    // each parameter's "set" toggle: "set temperature", not eight checkboxes all called "set"
    document.querySelectorAll('.dataoorts-panel .widget-hbox').forEach((row) => {
      const label = row.querySelector(':scope > :not(.widget-checkbox) > .widget-label');
      if (label) named(row.querySelector(':scope > .widget-checkbox input'), `set ${label.textContent.trim()}`);
    });
  };
  name();
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
})();"""


def bundle() -> dict:
    """The display (raw mime bundle) that runs the script in JupyterLab and Notebook 7."""
    return {"application/javascript": SCRIPT, "text/plain": ""}
