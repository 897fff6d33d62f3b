from services.logger.main import main

main()
