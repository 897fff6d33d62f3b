from services.actions.main import main

main()
