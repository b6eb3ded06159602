// The docs page: Swagger UI on the API's OpenAPI document. It is a file of
// its own, not an inline script, so that the page's Content-Security-Policy
// can allow scripts from the server only.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  // Relative to the page, so that the page works under any prefix and
  // behind a proxy that moves it.
  var documentURL = new URL(root.dataset.document, document.baseURI).href;
  var ui = null;

  // bearerToken is the bearer token given in the Authorize dialog, or "".
  function bearerToken() {
    if (!ui) {
      return "";
    }
    var token = "";
    ui.authSelectors.authorized().forEach(function (auth) {
      var scheme = auth.get("schema");
      if (!token && scheme && scheme.get("type") === "http" &&
          String(scheme.get("scheme")).toLowerCase() === "bearer") {
        token = auth.get("value") || "";
      }
    });
    return token;
  }

  // The document follows its caller: fetched with the token of the
  // Authorize dialog, it lists what that caller may do.
  function withToken(req) {
    var token = bearerToken();
    if (req.loadSpec && token) {
      req.headers.Authorization = "Bearer " + token;
    }
    return req;
  }

  // reloadDocument fetches the document again after the caller changed.
  function reloadDocument(action, system) {
    return function () {
      var result = action.apply(null, arguments);
      system.specActions.download(documentURL);
      return result;
    };
  }

  function followCaller() {
    return {
      statePlugins: {
        auth: {
          wrapActions: { authorize: reloadDocument, logout: reloadDocument }
        }
      }
    };
  }

  ui = SwaggerUIBundle({
    url: documentURL,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [followCaller],
    deepLinking: true,
    displayRequestDuration: true,
    filter: true,
    requestInterceptor: withToken,
    // Swagger UI would otherwise send the document to validator.swagger.io
    // and show its badge: the page loads nothing from another host.
    validatorUrl: null
  });
})();
