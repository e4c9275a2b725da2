// A, C, R decide; "/" jumps to the comment. Not while typing.
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest("input, textarea, select, [contenteditable]");
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/") {
    const comment = document.querySelector("#decision textarea");
    if (comment) { event.preventDefault(); comment.focus(); }
    return;
  }
  const button = document.querySelector(`#decision button[data-key="${event.key.toLowerCase()}"]`);
  if (button) { event.preventDefault(); button.click(); }
});
