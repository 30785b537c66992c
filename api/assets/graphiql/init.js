// Starts GraphiQL against this server's own endpoints (loaded as a file of its own, so that the page's
// content security policy allows scripts from this server only).
(function () {
  function url(path, ws) {
    var u = new URL(path, window.location.origin);
    if (ws) u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.toString();
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({
        url: url("/graphql", false),
        subscriptionUrl: url("/graphql/ws", true),
      }),
      defaultEditorToolsVisibility: true,
    })
  );
})();
