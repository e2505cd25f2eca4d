from ghl_sms.cli import main

main()
