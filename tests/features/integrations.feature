Feature: Drop-in integration with a web framework
  What a FastAPI user sees after two lines: the middleware and the mounted endpoints.

  Background:
    Given a FastAPI app with the observabilipy middleware and the endpoints at "/observability"

  Scenario: A route hit with many ids is one series, named by its template
    When "/users/{id}" is requested with 50 different ids
    Then the metrics show 50 requests for the route "/users/{user_id}" and no other series

  Scenario: The endpoints answer under the mount, with or without a trailing slash
    When "/observability/metrics" and "/observability/metrics/" are requested
    Then both answer 200 in Prometheus text format
    And neither is counted as a request

  Scenario: Every log entry of a request carries its id
    When "/users/7" is requested with the request id "req-7"
    Then the response carries the request id "req-7"
    And every log entry of that request carries the request id "req-7"
