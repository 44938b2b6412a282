// Where the LookMatch API is. Empty: the same origin as this page (as `lookmatch serve` serves it).
// When the page is deployed as static files elsewhere (e.g. an S3 website), set apiBase to the
// stack's API URL output, e.g. "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod".
window.LOOKMATCH_CONFIG = {
  apiBase: "",
};
