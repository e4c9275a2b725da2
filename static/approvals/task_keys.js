// Keyboard decisions on the task page. A, C and R never decide at once: they announce the decision,
// which is sent after a few seconds unless undone (Escape or "Undo"); Enter or "Decide now" sends it
// at once. "/" jumps to the comment and Escape leaves it. Nothing happens while typing.
const DELAY_SECONDS = 5;
let pending = null; // {button, timer, left}

function banner() {
  return document.getElementById("key-pending");
}

function cancelPending() {
  if (!pending) return;
  clearInterval(pending.timer);
  pending = null;
  const box = banner();
  if (box) box.hidden = true;
}

function sendPending() {
  if (!pending) return;
  const { button } = pending;
  cancelPending();
  button.click();
}

function show() {
  const box = banner();
  if (!box || !pending) return;
  box.querySelector("[data-pending-text]").textContent =
    `${pending.label}: sending in ${pending.left} s.`;
  box.hidden = false;
}

function announce(button) {
  cancelPending();
  const comment = document.querySelector("#decision textarea");
  if (button.dataset.needsComment !== undefined && comment && !comment.value.trim()) {
    // Rejecting or sending back needs a comment: ask for it rather than send a decision bound to fail.
    comment.focus();
    comment.placeholder = `Write a comment, press Esc, then ${button.dataset.key.toUpperCase()} again`;
    return;
  }
  pending = { button, label: button.dataset.label || button.textContent.trim(), left: DELAY_SECONDS };
  pending.timer = setInterval(() => {
    pending.left -= 1;
    if (pending.left <= 0) sendPending();
    else show();
  }, 1000);
  show();
}

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-pending-undo]")) cancelPending();
  else if (event.target.closest("[data-pending-now]")) sendPending();
});

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest("input, textarea, select, [contenteditable]");
  // Escape leaves the comment, so the decision keys work again.
  if (typing && event.key === "Escape" && typing.closest("#decision")) { typing.blur(); return; }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (pending && event.key === "Escape") { event.preventDefault(); cancelPending(); return; }
  if (pending && event.key === "Enter") { event.preventDefault(); sendPending(); return; }
  if (event.key === "/") {
    const comment = document.querySelector("#decision textarea");
    if (comment) { event.preventDefault(); comment.focus(); }
    return;
  }
  const button = document.querySelector(`#decision button[data-key="${event.key.toLowerCase()}"]`);
  if (button) { event.preventDefault(); announce(button); }
});
