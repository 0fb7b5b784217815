// Asks tamma-api, through the dashboard's /api/ proxy, whether it answers.
fetch("/api/status")
  .then((response) => response.json())
  .then((body) => {
    document.getElementById("api-status").textContent = `API answered at ${body.path}`;
  })
  .catch(() => {
    document.getElementById("api-status").textContent = "API unreachable";
  });
