-- Browser-style tokenization at the sandbox: the publishable key in the body,
-- as the widget sends it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Origin"] = "http://localhost:8081"
wrk.body = "key=pk_test_paylet_demo&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034&card[cvc]=123"
