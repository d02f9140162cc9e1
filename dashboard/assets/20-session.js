/* When the sign-in has ended (expired, signed out elsewhere, password changed), the server refuses the page's
   requests with 401 and an X-Sign-In header: go to the sign-in form, which brings the analyst back to this view. */
(function () {
  const fetchOriginal = window.fetch.bind(window);
  window.fetch = function (...args) {
    return fetchOriginal(...args).then(function (response) {
      if (response.status === 401 && response.headers.get("X-Sign-In")) {
        const here = window.location.pathname + window.location.search;
        window.location.assign(response.headers.get("X-Sign-In") + "?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
