// The report's "Print or save as PDF" button; print.css does the rest.
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
