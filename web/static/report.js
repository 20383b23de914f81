// Every "Print" button (the candidate's report, the reviewer's transcript): print.css does the rest.
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
